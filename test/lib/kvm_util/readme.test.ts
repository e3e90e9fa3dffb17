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

t.test('README guest-code snippet records a program the guest agent compiles', async (t) => {
  const md = readFileSync(`${ROOT}lib/kvm_util/README.md`, 'utf8');
  const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const snippet = blocks.find((b) => b.includes('const guestCode: GuestCode'));
  t.ok(snippet, 'the README shows guest code');
  const file = `${ROOT}tests/kvm/.readme_guest_${process.pid}.ts`;
  writeFileSync(file, `${snippet}
import { recordGuestProgram } from '../../lib/guest/index.js';
import { compileGuestProgram } from '../../lib/kvm/x86/agent.js';
const p = recordGuestProgram(guestCode);
const area = { gpa: 0x200000n, size: 0x200000n };
const image = compileGuestProgram({ ...p, area, ucallGpa: 0x10000n }, { area, ucallGpa: 0x10000n, ucallHva: 0x7f0000010000n, hypercall: 'vmcall', gbPages: true });
console.log(p.ops.map((o) => o.op).join(' '), image.bytes.length > 0);
`);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, 'ucall load while assert if loop ucall true\n');
  } finally {
    rmSync(file, { force: true });
  }
});
