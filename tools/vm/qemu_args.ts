// The QEMU command line and the kernel command line of one VM run.
//
// Shape of the machine: no disk, no network. The host's / is the guest's root
// over virtio-9p, read-only; a scratch directory of the host is a second,
// writable 9p share (job script in, exit status and timings out); an
// optional third share is the job's results directory. The job's stdout and
// stderr are two virtio-serial ports whose host ends are QEMU's own stdout
// and stderr, which the runner reads: the kernel console goes to the UART and
// from there to a log file, so nothing the kernel prints can land in a TAP
// stream.

/** 9p mount tags; init.sh knows them by these names. */
export const ROOT_TAG = '/dev/root';
export const SCRATCH_TAG = 'ksftvm';
export const RESULTS_TAG = 'ksftout';
/** virtio-serial port names; init.sh finds the ports by name in sysfs. */
export const OUT_PORT = 'ksft.out';
export const ERR_PORT = 'ksft.err';

export interface VmPlan {
  kernel: string;
  accel: 'kvm' | 'tcg';
  memory: string;
  smp: number;
  tscKhz?: number;
  /** Host path of the guest's init (tools/vm/init.sh), the same path inside. */
  init: string;
  /** Host scratch directory shared writable as SCRATCH_TAG. */
  scratch: string;
  /** Host directory shared writable as RESULTS_TAG, when asked for. */
  results?: string;
  /** Where the kernel console goes: a file, or '-' for QEMU's stderr. */
  console: string;
  append: readonly string[];
}

/** A value inside a QEMU option list: a comma is written twice. */
export function qemuEscape(v: string): string {
  return v.replace(/,/g, ',,');
}

/** Thrown for a plan that cannot become a working command line. */
export class VmPlanError extends Error {}

export function kernelCmdline(p: VmPlan): string {
  // The kernel splits its command line on white space, with no quoting that
  // init= would survive.
  if (/\s/.test(p.init)) throw new VmPlanError(`the init path '${p.init}' contains white space, which the kernel command line cannot carry`);
  const words = [
    'console=ttyS0',
    `root=${ROOT_TAG}`, 'rootfstype=9p', 'ro',
    // msize: 512 KiB per 9p message (the 8 KiB default makes Node's start-up
    // from the 9p root several times slower); cache=loose: the root does not
    // change under a run.
    'rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose',
    `init=${p.init}`,
    // A panic (init died, an oops in a test) reboots at once, and with
    // -no-reboot that ends QEMU: the runner sees the missing status instead
    // of waiting for its timeout.
    'panic=-1',
  ];
  if (p.tscKhz !== undefined) words.push(`tsc_early_khz=${p.tscKhz}`, 'tsc=reliable');
  words.push(...p.append);
  return words.join(' ');
}

export function qemuArgs(p: VmPlan): string[] {
  const cpu = p.accel === 'kvm'
    ? ['-accel', 'kvm', '-cpu', 'host']
    // SVM with nested paging is what TCG can emulate for a nested KVM;
    // la57=off and phys-bits=48 keep the guest's address width (and with it
    // KVM's memslot limits) the same as on a common 4-level host.
    : ['-accel', 'tcg', '-cpu', 'max,+svm,+npt,la57=off,phys-bits=48'];
  const share = (path: string, tag: string, readonly: boolean): string[] => [
    '-virtfs',
    // multidevs=remap: the host's / spans several filesystems; without it
    // inode numbers from two of them can collide in the guest.
    `local,path=${qemuEscape(path)},mount_tag=${tag},security_model=none,multidevs=remap${readonly ? ',readonly=on' : ''}`,
  ];
  // The ports write to QEMU's own stdout/stderr. Reopening them through
  // /proc/self/fd works for the pipes the runner gives QEMU; append=on keeps
  // QEMU from truncating.
  const port = (id: string, fd: number, name: string): string[] => [
    '-chardev', `file,id=${id},path=/proc/self/fd/${fd},append=on`,
    '-device', `virtserialport,bus=ports.0,chardev=${id},name=${name}`,
  ];
  const consolePath = p.console === '-' ? '/proc/self/fd/2' : p.console;
  return [
    '-nodefaults', '-no-reboot', '-display', 'none',
    ...cpu,
    '-m', p.memory,
    '-smp', String(p.smp),
    '-kernel', p.kernel,
    '-append', kernelCmdline(p),
    '-chardev', `file,id=console,path=${qemuEscape(consolePath)},append=on`,
    '-serial', 'chardev:console',
    ...share('/', ROOT_TAG, true),
    ...share(p.scratch, SCRATCH_TAG, false),
    ...(p.results !== undefined ? share(p.results, RESULTS_TAG, false) : []),
    // Node's start-up reads getrandom(); without an entropy source it can
    // block for a long time in an idle guest.
    '-device', 'virtio-rng-pci',
    '-device', 'virtio-serial-pci,id=ports',
    ...port('out', 1, OUT_PORT),
    ...port('err', 2, ERR_PORT),
  ];
}
