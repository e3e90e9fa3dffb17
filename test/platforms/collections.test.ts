/**
 * Every program of every tests/coco/<platform> collection, run on the model
 * as the runner would (the built bundle in a plain process): exit 0 and a
 * kselftest_harness summary with no failure and no skip.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { builtCollections, cleanEnv, nodeCommand } from '../lib/kselftest/support.js';

const ROOT = 'tests/coco';
const COLLECTIONS = readdirSync(ROOT).filter((d) => statSync(join(ROOT, d)).isDirectory()).sort();
const OUT = await builtCollections(COLLECTIONS.map((c) => `coco/${c}`), t);

function programs(collection: string): string[] {
  const mk = readFileSync(join(ROOT, collection, 'Makefile'), 'utf8');
  const m = /^TEST_GEN_PROGS\s*:=\s*(.+)$/m.exec(mk);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

for (const collection of COLLECTIONS) {
  t.test(`coco/${collection}`, async (t) => {
    t.equal(readFileSync(join(ROOT, collection, 'settings'), 'utf8').trim(), 'timeout=120');
    const progs = programs(collection);
    t.ok(progs.length > 0, 'declares TEST_GEN_PROGS');
    for (const p of progs) {
      const [cmd, args] = nodeCommand(join(OUT, 'tests', 'coco', collection, `${p}.mjs`), []);
      const r = spawnSync(cmd, args, {
        encoding: 'utf8', timeout: 120_000, env: cleanEnv({ KSFT_BACKEND: 'model', KSFT_KERNEL: '6.18', KSFT_PLATFORM: undefined }),
      });
      t.equal(r.status, 0, `${p} exits 0`);
      const totals = /# Totals: pass:(\d+) fail:(\d+) xfail:\d+ xpass:\d+ skip:(\d+) error:(\d+)/.exec(r.stdout);
      t.ok(totals, `${p} prints the harness totals`);
      if (totals) {
        t.ok(Number(totals[1]) > 0, `${p}: tests passed`);
        t.equal(totals[2], '0', `${p}: no failure`);
        t.equal(totals[3], '0', `${p}: no skip`);
      }
    }
  });
}
