/**
 * Result-by-result comparison of one script on the real /dev/kvm and on the
 * model, host-specific expectations, and the disagreement table.
 */

import { normalize, type ProbeResult } from './result.js';
import type { ProbeCall } from './script.js';

export interface Row {
  readonly caseName: string;
  readonly line: number;
  /** The call as written (names, not values). */
  readonly call: string;
  readonly real: string;
  readonly model: string;
}

/** Pair the two result lists; throws if they do not describe the same calls. */
export function pairResults(caseName: string, calls: readonly ProbeCall[], real: readonly ProbeResult[], model: readonly ProbeResult[]): Row[] {
  if (real.length !== calls.length || model.length !== calls.length) {
    throw new Error(`${caseName}: ${calls.length} calls but ${real.length} real and ${model.length} model results`);
  }
  const realInodes = new Map<string, number>();
  const modelInodes = new Map<string, number>();
  return calls.map((c, i) => {
    const r = real[i]!;
    const m = model[i]!;
    if (r.line !== c.line || m.line !== c.line || r.op !== c.op || m.op !== c.op) {
      throw new Error(`${caseName}: result ${i} is for line ${r.line}/${m.line} (${r.op}/${m.op}), expected line ${c.line} (${c.op})`);
    }
    return { caseName, line: c.line, call: c.text, real: normalize(c, r, realInodes), model: normalize(c, m, modelInodes) };
  });
}

/**
 * A known, explained disagreement: on hosts of kind `host` the real kernel
 * answers `real` where the model (the modelled 6.18 kernel) answers `model`.
 * `call` matches the call text exactly, or by RegExp for sweeps.
 */
export interface HostSpecific {
  readonly host: string;
  readonly caseName: string;
  readonly call: string | RegExp;
  readonly real: string;
  readonly model: string;
  readonly why: string;
}

export interface Verdict {
  readonly rows: readonly Row[];
  /** Every row where real and model differ. */
  readonly disagreements: readonly Row[];
  /** Disagreements no host-specific entry explains. */
  readonly unexplained: readonly Row[];
  /** Rows an entry matched (by case and call) whose outcomes are not the entry's. */
  readonly changed: readonly { row: Row; entry: HostSpecific }[];
  /** Entries (for this host and these cases) that matched no disagreement. */
  readonly stale: readonly HostSpecific[];
}

function callMatches(e: HostSpecific, r: Row): boolean {
  return e.caseName === r.caseName && (typeof e.call === 'string' ? e.call === r.call : e.call.test(r.call));
}

/**
 * Judge rows against the host-specific table: equal rows pass; a differing
 * row needs an entry with exactly its (real, model) pair; an entry whose
 * rows now agree, or disagree differently, is reported, so a change on
 * either side shows up.
 */
export function judge(rows: readonly Row[], table: readonly HostSpecific[], host: string, caseNames: ReadonlySet<string>): Verdict {
  const entries = table.filter((e) => e.host === host && caseNames.has(e.caseName));
  const used = new Set<HostSpecific>();
  const disagreements: Row[] = [];
  const unexplained: Row[] = [];
  const changed: { row: Row; entry: HostSpecific }[] = [];
  for (const r of rows) {
    const entry = entries.find((e) => callMatches(e, r));
    if (r.real === r.model) {
      if (entry) changed.push({ row: r, entry });
      continue;
    }
    disagreements.push(r);
    if (!entry) {
      unexplained.push(r);
    } else if (entry.real !== r.real || entry.model !== r.model) {
      changed.push({ row: r, entry });
    } else {
      used.add(entry);
    }
  }
  const stale = entries.filter((e) => !used.has(e) && !changed.some((c) => c.entry === e));
  return { rows, disagreements, unexplained, changed, stale };
}

/** A fixed-width text table of rows (the disagreements, usually). */
export function formatTable(rows: readonly Row[], note?: (r: Row) => string): string {
  if (rows.length === 0) return '(no disagreements)';
  const head = ['case', 'line', 'call', 'real /dev/kvm', 'model', ...(note ? ['note'] : [])];
  const body = rows.map((r) => [r.caseName, String(r.line), r.call, r.real, r.model, ...(note ? [note(r)] : [])]);
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...body.map((b) => b[i]!.length))));
  const fmt = (cols: string[]): string => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}
