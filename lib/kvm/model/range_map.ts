/**
 * A map from page-frame ranges to a non-zero bigint value (memory
 * attributes), stored as disjoint [start, end) runs in a treap keyed by run
 * start. KVM_SET_MEMORY_ATTRIBUTES must cost O(log n) per call however the
 * GFN space is fragmented, never one entry per page (the kernel keeps an
 * xarray of ranges, virt/kvm/kvm_main.c: kvm_vm_set_mem_attributes()). A
 * lookup is one descent; a replacement splits the tree around [start, end),
 * drops the middle subtree whole and merges the trimmed edges back, so it
 * costs O(log n) plus, for the run count only, the runs it removes. Value 0
 * is the default and is not stored (a new VM has every GFN shared,
 * virt/kvm/kvm_main.c: an empty mem_attr_array). Equal-valued runs that
 * touch are always coalesced, so the run list is the minimal one.
 *
 * Priorities come from a per-map xorshift32 with a fixed seed, so the shape
 * of the tree, and therefore every timing, is reproducible.
 */

export interface Run {
  readonly start: number;
  readonly end: number;
  readonly value: bigint;
}

interface Node {
  start: number;
  end: number;
  value: bigint;
  readonly prio: number;
  left: Node | undefined;
  right: Node | undefined;
}

type Tree = Node | undefined;

/** Join two treaps where every start in `a` is below every start in `b`. */
function merge(a: Tree, b: Tree): Tree {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    return a;
  }
  b.left = merge(a, b.left);
  return b;
}

// The two halves of the last splitInto(): one pair of module variables
// instead of a [left, right] array per tree level, which made the garbage
// collector most of a long run of small KVM_SET_MEMORY_ATTRIBUTES calls.
let splitLeft: Tree;
let splitRight: Tree;

function splitInto(t: Tree, key: number): void {
  if (!t) {
    splitLeft = undefined;
    splitRight = undefined;
  } else if (t.start < key) {
    splitInto(t.right, key);
    t.right = splitLeft;
    splitLeft = t;
  } else {
    splitInto(t.left, key);
    t.left = splitRight;
    splitRight = t;
  }
}

/** Split into runs starting below `key` and runs starting at or above it. */
function split(t: Tree, key: number): [Tree, Tree] {
  splitInto(t, key);
  return [splitLeft, splitRight];
}

/** Put `n` in place: below the first node of lower priority on its search path, which is split around it. */
function insert(t: Tree, n: Node): Node {
  if (!t) return n;
  if (n.prio > t.prio) {
    splitInto(t, n.start);
    n.left = splitLeft;
    n.right = splitRight;
    return n;
  }
  if (n.start < t.start) t.left = insert(t.left, n);
  else t.right = insert(t.right, n);
  return t;
}

function countNodes(t: Tree): number {
  let n = 0;
  const stack: Node[] = [];
  if (t) stack.push(t);
  while (stack.length > 0) {
    const x = stack.pop()!;
    n++;
    if (x.left) stack.push(x.left);
    if (x.right) stack.push(x.right);
  }
  return n;
}

export class RangeMap {
  private root: Tree;
  private count = 0;
  private seed = 0x9e3779b9;

  get size(): number {
    return this.count;
  }

  /** The runs in ascending order (a snapshot; later sets do not change it). */
  entries(): readonly Run[] {
    const out: Run[] = [];
    const stack: Node[] = [];
    let x = this.root;
    while (x || stack.length > 0) {
      while (x) {
        stack.push(x);
        x = x.left;
      }
      const n = stack.pop()!;
      out.push({ start: n.start, end: n.end, value: n.value });
      x = n.right;
    }
    return out;
  }

  private prio(): number {
    let s = this.seed;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.seed = s >>> 0;
    return this.seed;
  }

  private node(start: number, end: number, value: bigint): Node {
    return { start, end, value, prio: this.prio(), left: undefined, right: undefined };
  }

  /** The run with the greatest start <= key, if any. */
  private floor(key: number): Node | undefined {
    let x = this.root;
    let best: Node | undefined;
    while (x) {
      if (x.start <= key) {
        best = x;
        x = x.right;
      } else {
        x = x.left;
      }
    }
    return best;
  }

  get(key: number): bigint {
    const r = this.floor(key);
    return r && r.end > key ? r.value : 0n;
  }

  /** Runs overlapping [start, end) in ascending order; stops when `visit` returns false. */
  private overlapping(start: number, end: number, visit: (n: Node) => boolean): void {
    const f = this.floor(start);
    const from = f && f.end > start ? f.start : start;
    // In-order walk pruned to starts in [from, end): O(log n + runs visited).
    const stack: Node[] = [];
    let x = this.root;
    for (;;) {
      while (x) {
        if (x.start < from) {
          x = x.right;
        } else {
          stack.push(x);
          x = x.left;
        }
      }
      const n = stack.pop();
      if (!n || n.start >= end) return;
      if (!visit(n)) return;
      x = n.right;
    }
  }

  /** The stored runs overlapping [start, end), clipped to it, ascending: O(log n + runs). */
  runsIn(start: number, end: number): Run[] {
    const out: Run[] = [];
    if (end <= start) return out;
    this.overlapping(start, end, (n) => {
      const s = Math.max(start, n.start);
      const e = Math.min(end, n.end);
      if (s < e) out.push({ start: s, end: e, value: n.value });
      return true;
    });
    return out;
  }

  /** True if every key in [start, end) has `value`. */
  uniform(start: number, end: number, value: bigint): boolean {
    if (end <= start) return true;
    let k = start;
    let ok = true;
    this.overlapping(start, end, (n) => {
      if ((n.start > k && value !== 0n) || n.value !== value) {
        ok = false;
        return false;
      }
      k = n.end;
      return k < end;
    });
    return ok && (k >= end || value === 0n);
  }

  /** No run overlaps [start, end) or ends at `start` or begins at `end`: one descent. */
  private isolated(start: number, end: number): boolean {
    let t = this.root;
    while (t) {
      if (t.end < start) t = t.right;
      else if (t.start > end) t = t.left;
      else return false;
    }
    return true;
  }

  /** Replace [start, end) with `value` (0 erases). */
  set(start: number, end: number, value: bigint): void {
    if (end <= start) return;
    // A run that neither overlaps nor touches any other (pages converted one
    // by one, apart from each other) is one insertion: nothing to cut or
    // coalesce, and no node but its own is allocated.
    if (value !== 0n && this.isolated(start, end)) {
      this.root = insert(this.root, this.node(start, end, value));
      this.count++;
      return;
    }
    // left: starts < start; mid: starts in [start, end); right: starts >= end.
    const [left0, rest] = split(this.root, start);
    const [mid, right0] = split(rest, end);
    // The last run of `left` may overlap or touch [start, end), and the first
    // of `right` may touch it: lift both out so the edges can be recut and
    // coalesced, then put back what remains.
    let left = left0;
    let right = right0;
    let before: Node | undefined;
    let lastLeft = left;
    while (lastLeft && lastLeft.right) lastLeft = lastLeft.right;
    if (lastLeft && lastLeft.end >= start) {
      [left, before] = split(left, lastLeft.start);
    }
    let after: Node | undefined;
    let firstRight = right;
    while (firstRight && firstRight.left) firstRight = firstRight.left;
    if (firstRight && firstRight.start === end) {
      const [a, r] = split(right, end + 1);
      after = a;
      right = r;
    }
    let lastMid = mid;
    while (lastMid && lastMid.right) lastMid = lastMid.right;
    const removed = countNodes(mid) + (before ? 1 : 0) + (after ? 1 : 0);

    const pieces: Run[] = [];
    if (before) {
      pieces.push({ start: before.start, end: Math.min(before.end, start), value: before.value });
    }
    if (value !== 0n) pieces.push({ start, end, value });
    if (before && before.end > end) pieces.push({ start: end, end: before.end, value: before.value });
    if (lastMid && lastMid.end > end) pieces.push({ start: end, end: lastMid.end, value: lastMid.value });
    if (after) pieces.push({ start: after.start, end: after.end, value: after.value });

    let middle: Tree = undefined;
    let added = 0;
    let cur: Run | undefined;
    const flush = (): void => {
      if (!cur) return;
      middle = merge(middle, this.node(cur.start, cur.end, cur.value));
      added++;
    };
    for (const p of pieces) {
      if (p.end <= p.start) continue;
      if (cur && cur.end === p.start && cur.value === p.value) {
        cur = { start: cur.start, end: p.end, value: cur.value };
      } else {
        flush();
        cur = p;
      }
    }
    flush();
    this.root = merge(merge(left, middle), right);
    this.count += added - removed;
  }

  clear(): void {
    this.root = undefined;
    this.count = 0;
  }
}
