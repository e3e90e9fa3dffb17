/**
 * A map from page-frame ranges to a non-zero bigint value (memory
 * attributes), stored as a sorted array of disjoint [start, end) runs. A
 * lookup is a binary search; a replacement splices the runs it overlaps, so
 * its cost grows with log(runs) plus the runs replaced, never with the number
 * of pages. Value 0 is the default and is not stored (a new VM has every GFN
 * shared, virt/kvm/kvm_main.c: an empty mem_attr_array).
 */

export interface Run {
  readonly start: number;
  readonly end: number;
  readonly value: bigint;
}

export class RangeMap {
  private runs: Run[] = [];

  get size(): number {
    return this.runs.length;
  }

  entries(): readonly Run[] {
    return this.runs;
  }

  /** Index of the first run with end > key. */
  private firstEndingAfter(key: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid]!.end <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: number): bigint {
    const i = this.firstEndingAfter(key);
    const r = this.runs[i];
    return r && r.start <= key ? r.value : 0n;
  }

  /** True if every key in [start, end) has `value`. */
  uniform(start: number, end: number, value: bigint): boolean {
    let k = start;
    let i = this.firstEndingAfter(start);
    while (k < end) {
      const r = this.runs[i];
      if (!r || r.start > k) {
        if (value !== 0n) return false;
        k = r ? Math.min(r.start, end) : end;
        continue;
      }
      if (r.value !== value) return false;
      k = r.end;
      i++;
    }
    return true;
  }

  /** Replace [start, end) with `value` (0 erases). */
  set(start: number, end: number, value: bigint): void {
    if (end <= start) return;
    const i = this.firstEndingAfter(start);
    let j = i;
    const repl: Run[] = [];
    const first = this.runs[i];
    if (first && first.start < start) repl.push({ start: first.start, end: start, value: first.value });
    while (j < this.runs.length && this.runs[j]!.start < end) j++;
    const last = j > i ? this.runs[j - 1]! : undefined;
    if (value !== 0n) repl.push({ start, end, value });
    if (last && last.end > end) repl.push({ start: end, end: last.end, value: last.value });
    // Merge with equal-valued neighbours so the run count stays minimal.
    let from = i;
    let to = j;
    const before = this.runs[from - 1];
    if (before && repl.length > 0 && before.end === repl[0]!.start && before.value === repl[0]!.value) {
      repl[0] = { start: before.start, end: repl[0]!.end, value: before.value };
      from--;
    }
    const after = this.runs[to];
    const tail = repl[repl.length - 1];
    if (after && tail && tail.end === after.start && tail.value === after.value) {
      repl[repl.length - 1] = { start: tail.start, end: after.end, value: tail.value };
      to++;
    }
    for (let k = 1; k < repl.length; k++) {
      const a = repl[k - 1]!;
      const b = repl[k]!;
      if (a.end === b.start && a.value === b.value) {
        repl.splice(k - 1, 2, { start: a.start, end: b.end, value: a.value });
        k--;
      }
    }
    this.runs.splice(from, to - from, ...repl);
  }

  clear(): void {
    this.runs = [];
  }
}
