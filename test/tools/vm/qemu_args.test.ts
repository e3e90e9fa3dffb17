// tools/vm/qemu_args.ts: the QEMU and kernel command lines (accelerator and
// CPU, tsc_early_khz, the shares, the ports, the console).
import t from 'tap';
import { kernelCmdline, qemuArgs, qemuEscape, VmPlanError, type VmPlan } from '../../../tools/vm/qemu_args.js';

const plan = (o: Partial<VmPlan> = {}): VmPlan => ({
  kernel: '/cache/bzImage', accel: 'tcg', memory: '4G', smp: 1, tscKhz: 2299998,
  init: '/src/tools/vm/init.sh', scratch: '/tmp/ksft-vm-x', console: '/tmp/ksft-vm-x/console.log', append: [], ...o,
});
/** The value after each occurrence of an option. */
const values = (args: readonly string[], opt: string): string[] =>
  args.flatMap((a, i) => (a === opt ? [args[i + 1]!] : []));

t.test('TCG: SVM with nested paging, 4-level addresses; KVM: the host CPU', async (t) => {
  const tcg = qemuArgs(plan());
  t.same(values(tcg, '-accel'), ['tcg']);
  t.same(values(tcg, '-cpu'), ['max,+svm,+npt,la57=off,phys-bits=48']);
  const kvm = qemuArgs(plan({ accel: 'kvm' }));
  t.same(values(kvm, '-accel'), ['kvm']);
  t.same(values(kvm, '-cpu'), ['host']);
  t.same(values(tcg, '-m'), ['4G']);
  t.same(values(tcg, '-smp'), ['1']);
  t.same(values(tcg, '-kernel'), ['/cache/bzImage']);
  t.ok(tcg.includes('-no-reboot'), 'the guest reboot ends QEMU');
  t.ok(tcg.includes('-nodefaults'));
});

t.test('kernel command line: 9p root, init, panic reboots, the TSC', async (t) => {
  t.equal(kernelCmdline(plan()),
    'console=ttyS0 root=/dev/root rootfstype=9p ro rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ' +
    'init=/src/tools/vm/init.sh panic=-1 tsc_early_khz=2299998 tsc=reliable');
  t.notMatch(kernelCmdline(plan({ tscKhz: undefined })), /tsc/, 'no TSC words without a frequency');
  t.match(kernelCmdline(plan({ append: ['quiet', 'loglevel=3'] })), / tsc=reliable quiet loglevel=3$/);
  t.same(values(qemuArgs(plan()), '-append'), [kernelCmdline(plan())]);
  t.throws(() => kernelCmdline(plan({ init: '/my src/tools/vm/init.sh' })),
    new VmPlanError("the init path '/my src/tools/vm/init.sh' contains white space, which the kernel command line cannot carry"));
});

t.test('shares: / read-only as the root, the scratch writable, results only when asked', async (t) => {
  const fs = values(qemuArgs(plan()), '-virtfs');
  t.same(fs, [
    'local,path=/,mount_tag=/dev/root,security_model=none,multidevs=remap,readonly=on',
    'local,path=/tmp/ksft-vm-x,mount_tag=ksftvm,security_model=none,multidevs=remap',
  ]);
  const withResults = values(qemuArgs(plan({ results: '/out' })), '-virtfs');
  t.equal(withResults.length, 3);
  t.equal(withResults[2], 'local,path=/out,mount_tag=ksftout,security_model=none,multidevs=remap');
  t.equal(qemuEscape('/a,b'), '/a,,b');
  t.match(values(qemuArgs(plan({ scratch: '/tmp/a,b' })), '-virtfs')[1], /^local,path=\/tmp\/a,,b,mount_tag=ksftvm,/, 'a comma in a path is doubled');
});

t.test('ports on QEMU stdout/stderr, console to a file or stderr', async (t) => {
  const a = qemuArgs(plan());
  t.same(values(a, '-chardev'), [
    'file,id=console,path=/tmp/ksft-vm-x/console.log,append=on',
    'file,id=out,path=/proc/self/fd/1,append=on',
    'file,id=err,path=/proc/self/fd/2,append=on',
  ]);
  t.same(values(a, '-serial'), ['chardev:console']);
  t.same(values(a, '-device'), [
    'virtio-rng-pci', 'virtio-serial-pci,id=ports',
    'virtserialport,bus=ports.0,chardev=out,name=ksft.out',
    'virtserialport,bus=ports.0,chardev=err,name=ksft.err',
  ]);
  t.equal(values(qemuArgs(plan({ console: '-' })), '-chardev')[0], 'file,id=console,path=/proc/self/fd/2,append=on');
});
