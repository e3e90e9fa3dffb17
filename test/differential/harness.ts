/**
 * The differential check shared by the test files: every case runs on the
 * real /dev/kvm (the oracle: the `kvm` backend, or the C probe with
 * KSFT_DIFF_ORACLE=probe) and on the model with the profile of the host's
 * kernel; equal results pass, and a difference must be listed in the
 * host-specific table with exactly the observed pair. Entries that no longer
 * match (either side changed) and entries that match nothing fail too.
 */

import type { Test } from 'tap';
import { formatTable, judge, type HostSpecific, type Row } from '../../tools/kvm_probe/compare.js';
import { runCase, type DiffCase } from '../../tools/kvm_probe/differential.js';
import { hostKernelProfile, hostMaxPhysBits, prepareOracle, type OracleKind } from '../../tools/kvm_probe/oracle.js';
import { hostKvmKind } from '../../tools/kvm_probe/real_runner.js';

/** The oracle the differential uses: KSFT_DIFF_ORACLE, else the `kvm` backend. */
export function oracleKind(): OracleKind {
  return process.env.KSFT_DIFF_ORACLE === 'probe' ? 'probe' : 'kvm';
}

export async function differential(t: Test, group: string, cases: readonly DiffCase[], hostSpecific: readonly HostSpecific[]): Promise<void> {
  const oracle = prepareOracle(oracleKind());
  if ('skip' in oracle) {
    await t.test(`${group}: real /dev/kvm vs model`, { skip: oracle.skip }, async () => {});
    return;
  }
  const host = hostKvmKind();
  const kernel = hostKernelProfile();
  const maxPhysBits = hostMaxPhysBits();
  t.comment(`oracle: /dev/kvm on a ${host} host through the ${oracle.kind === 'kvm' ? 'kvm backend' : 'C probe'}, model kernel ${kernel}, ${maxPhysBits} guest physical bits`);
  const names = new Set(cases.map((c) => c.name));
  t.equal(names.size, cases.length, 'case names are unique');
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const rows = runCase(c, { oracle, kernel, maxPhysBits });
      const v = judge(rows, hostSpecific, host, new Set([c.name]));
      const agree = rows.length - v.disagreements.length;
      t.ok(rows.length > 0, `${rows.length} results, ${agree} equal, ${v.disagreements.length - v.unexplained.length} host-specific`);
      if (v.disagreements.length > 0) {
        t.comment(formatTable(v.disagreements, (r) => (v.unexplained.includes(r) ? 'UNEXPLAINED' : 'host-specific')));
      }
      t.same(v.unexplained.map(show), [], 'every result equals the oracle or is a listed host-specific difference');
      t.same(v.changed.map((c) => `${show(c.row)} (table: real ${c.entry.real}, model ${c.entry.model})`), [], 'host-specific entries still describe both sides');
      t.same(v.stale.map((e) => `${e.caseName}: ${String(e.call)}`), [], 'no host-specific entry is stale');
    });
  }
  const unknownCases = hostSpecific.filter((e) => !names.has(e.caseName)).map((e) => e.caseName);
  t.same(unknownCases, [], 'host-specific entries name cases of this group');
}

function show(r: Row): string {
  return `${r.caseName}:${r.line} ${r.call}: real ${r.real}, model ${r.model}`;
}
