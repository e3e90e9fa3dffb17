// tools/vm/host.ts: -accel kvm only where QEMU can nest a KVM guest, the
// host's TSC frequency for tsc_early_khz, QEMU found through PATH.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { chooseAccel, cpuFlags, findExecutable, hostTscKhz, type HostFacts } from '../../../tools/vm/host.js';
import { VmInputError } from '../../../tools/vm/options.js';
import { tmpDir } from '../runner/helpers.js';

const cpuinfo = (flags: string, mhz = '2299.998'): string =>
  `processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: ${mhz}\nflags\t\t: fpu tsc ${flags} lm\n\nprocessor\t: 1\nflags\t\t: fpu\n`;
const host = (o: Partial<HostFacts>): HostFacts => ({ cpuinfo: cpuinfo(''), kvmUsable: false, pvm: false, ...o });

t.test('cpuFlags reads the first processor', async (t) => {
  t.ok(cpuFlags(cpuinfo('vmx')).has('vmx'));
  t.notOk(cpuFlags(cpuinfo('vmx')).has('svm'));
  t.equal(cpuFlags('').size, 0);
});

t.test('accel: kvm only with a usable /dev/kvm, VMX or SVM, and no PVM', async (t) => {
  t.same(chooseAccel('auto', host({ cpuinfo: cpuinfo('vmx'), kvmUsable: true })), { accel: 'kvm', why: '/dev/kvm with vmx' });
  t.same(chooseAccel('auto', host({ cpuinfo: cpuinfo('svm'), kvmUsable: true })), { accel: 'kvm', why: '/dev/kvm with svm' });
  // This machine kind: PVM's /dev/kvm on a CPU without either flag.
  t.equal(chooseAccel('auto', host({ kvmUsable: true, pvm: true })).accel, 'tcg');
  t.match(chooseAccel('auto', host({ cpuinfo: cpuinfo('svm'), kvmUsable: true, pvm: true })).why, /PVM/);
  t.match(chooseAccel('auto', host({ kvmUsable: true })).why, /neither vmx nor svm/);
  t.match(chooseAccel('auto', host({ cpuinfo: cpuinfo('vmx') })).why, /\/dev\/kvm is missing/);
  t.equal(chooseAccel('tcg', host({ cpuinfo: cpuinfo('vmx'), kvmUsable: true })).accel, 'tcg', 'tcg when asked');
  t.throws(() => chooseAccel('kvm', host({ kvmUsable: true, pvm: true })),
    new VmInputError("--accel kvm: not usable here: the host's KVM is PVM (kvm_pvm), which QEMU cannot nest a KVM guest under"));
});

t.test('TSC kHz: the kernel figure, else cpu MHz', async (t) => {
  t.equal(hostTscKhz(host({ tscFreqKhz: '2100000\n' })), 2100000);
  t.equal(hostTscKhz(host({})), 2299998);
  t.equal(hostTscKhz(host({ tscFreqKhz: 'junk', cpuinfo: cpuinfo('', '3000') })), 3000000);
  t.equal(hostTscKhz(host({ cpuinfo: 'processor : 0\n' })), undefined);
});

t.test('findExecutable: PATH lookup, or a path', async (t) => {
  const d = tmpDir('ksft-vm-host-');
  const q = join(d, 'qemu-system-x86_64');
  writeFileSync(q, '#!/bin/sh\n');
  chmodSync(q, 0o755);
  writeFileSync(join(d, 'plain'), '');
  t.equal(findExecutable('qemu-system-x86_64', `/nonexistent:${d}`), q);
  t.equal(findExecutable(q, ''), q);
  t.equal(findExecutable('plain', d), undefined, 'not executable');
  t.equal(findExecutable(join(d, 'missing'), d), undefined);
  t.equal(findExecutable('qemu-system-x86_64', undefined), undefined);
});
