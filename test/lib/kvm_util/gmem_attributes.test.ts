/**
 * gmemSetPrivate()/gmemSetShared() and their raw `__` forms
 * (lib/kvm_util/gmem_attributes.ts): the raw forms return KVM's answer to
 * KVM_SET_MEMORY_ATTRIBUTES2 with errno (set for the library as libc
 * does) and the struct's error_offset; the asserting forms fail with C's
 * KVM_IOCTL_ERROR line, and skip where guest_memfd takes no attributes
 * (before 7.4, or with kvm.vm_memory_attributes=Y).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../kselftest/support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/gmem_set.ts', import.meta.url));
const run = (mode: string, env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
  encoding: 'utf8', env: cleanEnv({ KSFT_BACKEND: 'model', KSFT_PLATFORM: '', ...env }),
});
const IN_PLACE = { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: 'N' };

t.test('raw forms: {ret, errno, errorOffset}, with the library errno set', async (t) => {
  const r = run('raw', IN_PLACE);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, [
    'Random seed: 0x6b8b4567',
    'private: ret=0 errno=0 lib-errno=0 error_offset=0',
    'shared: ret=0 errno=0 lib-errno=0 error_offset=0',
    // kvm_gmem_set_attributes(): offset and size must be page-aligned, and inside the file;
    // error_offset is written only when a page refuses (EAGAIN), so the preset 7 stays.
    'unaligned: ret=-1 errno=22 lib-errno=22 error_offset=0',
    'past-end: ret=-1 errno=22 lib-errno=22 error_offset=7',
    '',
  ].join('\n'));
  const old = run('raw', { KSFT_KERNEL: '6.18' });
  t.match(old.stdout, /^private: ret=-1 errno=25 lib-errno=25 /m, 'before 7.4 guest_memfd has no such ioctl: ENOTTY');
});

t.test('asserting forms: convert, then fail with KVM_IOCTL_ERROR at the bad call', async (t) => {
  const r = run('asserting', IN_PLACE);
  t.equal(r.status, 254);
  t.equal(r.stdout, 'Random seed: 0x6b8b4567\nconverted\n');
  t.match(r.stderr, /^==== Test Assertion Failure ====\n/);
  t.match(r.stderr, /\n  KVM_SET_MEMORY_ATTRIBUTES2 failed, rc: -1 errno: 22 \(Invalid argument\)\n$/);
  t.match(r.stderr, /gmemSetPrivate at lib\/kvm_util\/gmem_attributes\.ts:\d+\n.*test\/lib\/kvm_util\/fixtures\/gmem_set\.ts:\d+/s, 'the stack names the call');
});

t.test('asserting forms skip where guest_memfd takes no attributes', async (t) => {
  const envs: Record<string, string>[] = [{ KSFT_KERNEL: '6.18' }, { KSFT_KERNEL: '7.4', KSFT_VM_MEMORY_ATTRIBUTES: 'Y' }];
  for (const env of envs) {
    const r = run('asserting', env);
    t.equal(r.status, 4, JSON.stringify(env));
    t.equal(r.stdout, 'Random seed: 0x6b8b4567\n1..0 # SKIP - No valid attributes for guest_memfd ioctl!\n');
  }
});
