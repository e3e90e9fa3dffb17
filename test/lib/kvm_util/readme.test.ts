/** The README's example is a working selftest: extract it, run it on the model, expect exit 0. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

t.test('README example runs', async (t) => {
  const md = readFileSync(`${ROOT}lib/kvm_util/README.md`, 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(md)![1]!;
  // Placed beside the collection so its relative imports resolve as written.
  const file = `${ROOT}tests/kvm/.readme_example_${process.pid}.ts`;
  writeFileSync(file, code);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', env: { ...process.env, KSFT_KERNEL: '6.18' } });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, 'Random seed: 0x6b8b4567\n');
  } finally {
    rmSync(file, { force: true });
  }
});
