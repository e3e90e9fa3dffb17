// The QEMU command line and the kernel command line of one VM run.
//
// Shape of the machine: no disk, no network. The host's / is the guest's root
// over virtio-9p, read-only; a scratch directory of the host is a second,
// writable 9p share (job script in, exit status and timings out); an
// optional third share is the job's results directory. The job's stdout and
// stderr are two virtio-serial ports, the kernel console is the UART; all
// three are UNIX sockets in the scratch directory that QEMU connects to and
// the runner listens on (port.ts). Sockets rather than QEMU's own stdout and
// stderr: only one chardev can use stdio, and a file chardev cannot reopen
// the socketpairs Node gives a child as pipes. Nothing the kernel prints can
// land in the job's stdout.

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
  sockets: VmSockets;
  append: readonly string[];
}

export interface VmSockets {
  console: string;
  out: string;
  err: string;
}

/** A UNIX socket path holds at most 107 bytes on Linux. */
export const MAX_SOCKET_PATH = 107;

export function socketPaths(scratch: string): VmSockets {
  return { console: `${scratch}/console.sock`, out: `${scratch}/out.sock`, err: `${scratch}/err.sock` };
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
  // -fsdev and -device rather than -virtfs, which takes the mount tag as the
  // fsdev id, and '/dev/root' is not a valid id.
  const share = (id: string, path: string, tag: string, readonly: boolean): string[] => [
    '-fsdev',
    // multidevs=remap: the host's / spans several filesystems; without it
    // inode numbers from two of them can collide in the guest.
    `local,id=${id},path=${qemuEscape(path)},security_model=none,multidevs=remap${readonly ? ',readonly=on' : ''}`,
    '-device', `virtio-9p-pci,fsdev=${id},mount_tag=${tag}`,
  ];
  const socket = (id: string, path: string): string[] => {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new VmPlanError(`socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes (set TMPDIR to a shorter directory)`);
    }
    return ['-chardev', `socket,id=${id},path=${qemuEscape(path)}`];
  };
  const port = (id: string, path: string, name: string): string[] => [
    ...socket(id, path),
    '-device', `virtserialport,bus=ports.0,chardev=${id},name=${name}`,
  ];
  return [
    '-nodefaults', '-no-reboot', '-display', 'none',
    ...cpu,
    '-m', p.memory,
    '-smp', String(p.smp),
    '-kernel', p.kernel,
    '-append', kernelCmdline(p),
    ...socket('console', p.sockets.console),
    '-serial', 'chardev:console',
    ...share('root', '/', ROOT_TAG, true),
    ...share('scratch', p.scratch, SCRATCH_TAG, false),
    ...(p.results !== undefined ? share('results', p.results, RESULTS_TAG, false) : []),
    // Node's start-up reads getrandom(); without an entropy source it can
    // block for a long time in an idle guest.
    '-device', 'virtio-rng-pci',
    '-device', 'virtio-serial-pci,id=ports',
    ...port('out', p.sockets.out, OUT_PORT),
    ...port('err', p.sockets.err, ERR_PORT),
  ];
}
