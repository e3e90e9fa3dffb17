/**
 * kvm_probe driver: run case-list files on the real /dev/kvm and on the
 * model, and print where they disagree.
 *
 *   node --import tsx tools/kvm_probe/main.ts [--kernel 6.18] [--oracle kvm|probe] [--all] FILE...
 *
 * FILE is a script in the probe's line format ('-' reads stdin). Exit 0 when
 * every result agrees, 1 when some disagree, 4 when the real side cannot run
 * here (the reason is printed), 2 on bad input.
 */

import { readFileSync } from 'node:fs';
import { formatTable } from './compare.js';
import { runCases, type DiffCase } from './differential.js';
import { hostKernelProfile, hostMaxPhysBits, prepareOracle, type OracleKind } from './oracle.js';
import { ScriptError, parseScript } from './script.js';
import { isKernelName, type KernelName } from '../../lib/kvm/model/profiles.js';

const USAGE = 'usage: main.ts [--kernel 6.12|6.18|6.19|7.4] [--oracle kvm|probe] [--all] FILE...';

function fail(msg: string): never {
  process.stderr.write(`kvm_probe: ${msg}\n`);
  process.exit(2);
}

function main(argv: readonly string[]): number {
  let kernel: KernelName = hostKernelProfile();
  let oracleKind: OracleKind = 'kvm';
  let all = false;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--all') all = true;
    else if (a === '--kernel') {
      const k = argv[++i];
      if (k === undefined || !isKernelName(k)) fail(`--kernel: expected 6.12, 6.18, 6.19 or 7.4, got '${k ?? ''}'`);
      kernel = k;
    } else if (a === '--oracle') {
      const o = argv[++i];
      if (o !== 'kvm' && o !== 'probe') fail(`--oracle: expected kvm or probe, got '${o ?? ''}'`);
      oracleKind = o;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else if (a.startsWith('-') && a !== '-') fail(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  if (files.length === 0) fail(`no case file given\n${USAGE}`);
  const cases: DiffCase[] = files.map((f) => {
    let script: string;
    try {
      script = readFileSync(f === '-' ? 0 : f, 'utf8');
    } catch (e) {
      fail(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      parseScript(script);
    } catch (e) {
      if (e instanceof ScriptError) fail(`${f}: ${e.message}`);
      throw e;
    }
    return { name: f, script };
  });
  const oracle = prepareOracle(oracleKind);
  if ('skip' in oracle) {
    process.stdout.write(`SKIP: ${oracle.skip}\n`);
    return 4;
  }
  const rows = runCases(cases, { oracle, kernel, maxPhysBits: hostMaxPhysBits() });
  const diff = rows.filter((r) => r.real !== r.model);
  process.stdout.write(`${formatTable(all ? rows : diff, all ? (r) => (r.real === r.model ? '' : 'DIFFERS') : undefined)}\n`);
  process.stdout.write(`# ${rows.length} results, ${diff.length} disagreements (model kernel ${kernel})\n`);
  return diff.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
