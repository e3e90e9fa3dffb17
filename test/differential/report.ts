/**
 * Print every disagreement between the real /dev/kvm and the model over all
 * differential case groups, marked host-specific or unexplained.
 *
 *   node --import tsx test/differential/report.ts [GROUP...]
 *
 * Exit 0 when every disagreement is a listed host-specific one, 1 otherwise,
 * 4 when the real side cannot run here.
 */

import { formatTable, judge, type Row } from '../../tools/kvm_probe/compare.js';
import { runCases } from '../../tools/kvm_probe/differential.js';
import { hostKernelProfile, hostMaxPhysBits, prepareOracle } from '../../tools/kvm_probe/oracle.js';
import { hostKvmKind } from '../../tools/kvm_probe/real_runner.js';
import { oracleKind } from './harness.js';
import { GROUPS } from './groups.js';

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => !GROUPS.some((g) => g.name === a));
  if (unknown.length > 0) {
    process.stderr.write(`report: unknown group '${unknown[0]}' (groups: ${GROUPS.map((g) => g.name).join(', ')})\n`);
    return 2;
  }
  const oracle = prepareOracle(oracleKind());
  if ('skip' in oracle) {
    process.stdout.write(`SKIP: ${oracle.skip}\n`);
    return 4;
  }
  const kernel = hostKernelProfile();
  const maxPhysBits = hostMaxPhysBits();
  const host = hostKvmKind();
  let total = 0;
  let diffs = 0;
  let bad = 0;
  for (const g of GROUPS.filter((g) => argv.length === 0 || argv.includes(g.name))) {
    const rows: Row[] = runCases(g.cases, { oracle, kernel, maxPhysBits });
    const v = judge(rows, g.hostSpecific, host, new Set(g.cases.map((c) => c.name)));
    total += rows.length;
    diffs += v.disagreements.length;
    bad += v.unexplained.length + v.changed.length + v.stale.length;
    process.stdout.write(`== ${g.name}: ${rows.length} results, ${v.disagreements.length} disagreements, ${v.unexplained.length} unexplained\n`);
    if (v.disagreements.length > 0) {
      process.stdout.write(`${formatTable(v.disagreements, (r) => (v.unexplained.includes(r) ? 'UNEXPLAINED' : 'host-specific'))}\n`);
    }
    for (const c of v.changed) process.stdout.write(`CHANGED: ${c.row.caseName}:${c.row.line} ${c.row.call}: real ${c.row.real}, model ${c.row.model}; table says real ${c.entry.real}, model ${c.entry.model}\n`);
    for (const e of v.stale) process.stdout.write(`STALE: ${e.caseName}: ${String(e.call)}\n`);
  }
  process.stdout.write(`# ${host} host: ${total} results, ${diffs} disagreements, ${bad} unexplained/changed/stale\n`);
  return bad > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
