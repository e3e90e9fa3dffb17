// tools/vm/qemu_args.ts: the QEMU and kernel command lines (accelerator and
// CPU, tsc_early_khz, the shares, the ports, the console).
import t from 'tap';
import { kernelCmdline, qemuArgs, qemuEscape, socketPaths, VmPlanError, type VmPlan } from '../../../tools/vm/qemu_args.js';

const plan = (o: Partial<VmPlan> = {}): VmPlan => ({
  kernel: '/cache/bzImage', accel: 'tcg', memory: '4G', smp: 1, tscKhz: 2299998,
  init: '/src/tools/vm/init.sh', scratch: '/tmp/ksft-vm-x', sockets: socketPaths('/tmp/ksft-vm-x'), append: [], ...o,
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
  const a = qemuArgs(plan());
  t.same(values(a, '-fsdev'), [
    'local,id=root,path=/,security_model=none,multidevs=remap,readonly=on',
    'local,id=scratch,path=/tmp/ksft-vm-x,security_model=none,multidevs=remap',
  ]);
  t.same(values(a, '-device').filter((d) => d.startsWith('virtio-9p-pci')), [
    'virtio-9p-pci,fsdev=root,mount_tag=/dev/root',
    'virtio-9p-pci,fsdev=scratch,mount_tag=ksftvm',
  ]);
  const r = qemuArgs(plan({ results: '/out' }));
  t.equal(values(r, '-fsdev')[2], 'local,id=results,path=/out,security_model=none,multidevs=remap');
  t.ok(values(r, '-device').includes('virtio-9p-pci,fsdev=results,mount_tag=ksftout'));
  t.equal(qemuEscape('/a,b'), '/a,,b');
  t.match(values(qemuArgs(plan({ scratch: '/tmp/a,b' })), '-fsdev')[1], /^local,id=scratch,path=\/tmp\/a,,b,security/, 'a comma in a path is doubled');
});

t.test('console and ports: sockets in the scratch directory', async (t) => {
  const a = qemuArgs(plan());
  t.same(values(a, '-chardev'), [
    'socket,id=console,path=/tmp/ksft-vm-x/console.sock',
    'socket,id=out,path=/tmp/ksft-vm-x/out.sock',
    'socket,id=err,path=/tmp/ksft-vm-x/err.sock',
  ]);
  t.same(values(a, '-serial'), ['chardev:console']);
  t.same(values(a, '-device').filter((d) => !d.startsWith('virtio-9p-pci')), [
    'virtio-rng-pci', 'virtio-serial-pci,id=ports',
    'virtserialport,bus=ports.0,chardev=out,name=ksft.out',
    'virtserialport,bus=ports.0,chardev=err,name=ksft.err',
  ]);
  const long = `/tmp/${'x'.repeat(100)}`;
  t.throws(() => qemuArgs(plan({ sockets: socketPaths(long) })),
    new VmPlanError(`socket path ${long}/console.sock is longer than 107 bytes (set TMPDIR to a shorter directory)`));
});
