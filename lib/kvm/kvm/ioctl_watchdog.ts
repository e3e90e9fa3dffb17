/**
 * A watchdog for ioctls the main thread issues synchronously but that can
 * spin inside the kernel: KVM_PRE_FAULT_MEMORY retries a fault for as long
 * as it is told to retry, checking only for a pending signal
 * (kvm_tdp_map_page(), arch/x86/kvm/mmu/mmu.c), and before commit
 * 3ccbf6f47098 ("KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves
 * memslot during prefault", 6.18) a memslot deleted before the call made it
 * retry forever. A timer cannot fire on a thread stuck in a syscall, so a
 * thread of its own waits out the deadline and signals the main thread
 * (SIGUSR2, which has a handler): the ioctl returns EINTR and the caller
 * learns that the watchdog did it.
 */
import { Worker } from 'node:worker_threads';
import type { Libc } from './libc.js';

const SIGUSR2 = 12;
/* Control words: the armed generation (0 = idle, -1 = end), the deadline in ms, whether it fired. */
const GEN = 0;
const MS = 1;
const FIRED = 2;

const SOURCE = `
const { workerData } = require('node:worker_threads');
const koffi = require(workerData.koffiPath);
const kill = koffi.load('libc.so.6').func('pthread_kill', 'int', ['uint64_t', 'int']);
const ctl = workerData.ctl;
for (;;) {
  Atomics.wait(ctl, ${GEN}, 0);
  const gen = Atomics.load(ctl, ${GEN});
  if (gen < 0) break;
  if (gen === 0) continue;
  if (Atomics.wait(ctl, ${GEN}, gen, Atomics.load(ctl, ${MS})) !== 'timed-out') continue;
  // Still the same call: signal until the ioctl has returned and the caller disarmed.
  Atomics.store(ctl, ${FIRED}, 1);
  while (Atomics.load(ctl, ${GEN}) === gen) {
    kill(workerData.target, ${SIGUSR2});
    Atomics.wait(ctl, ${GEN}, gen, 100);
  }
}
`;

export class IoctlWatchdog {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private readonly worker: Worker;
  private gen = 0;

  /** `target`: the pthread to signal (the thread that makes the calls). */
  constructor(libc: Libc, target: bigint) {
    // A real handler, so the signal interrupts the ioctl instead of killing the process.
    if (process.listenerCount('SIGUSR2') === 0) process.on('SIGUSR2', () => {});
    this.worker = new Worker(SOURCE, { eval: true, workerData: { koffiPath: libc.koffiPath, ctl: this.ctl, target } });
    this.worker.unref();
  }

  /** Run `call` with the deadline armed; `fired` says the watchdog had to signal. */
  run<T>(ms: number, call: () => T): { value: T; fired: boolean } {
    this.gen = this.gen >= 0x7ffffff0 ? 1 : this.gen + 1;
    Atomics.store(this.ctl, FIRED, 0);
    Atomics.store(this.ctl, MS, Math.max(1, Math.min(ms, 0x7fffffff)));
    Atomics.store(this.ctl, GEN, this.gen);
    Atomics.notify(this.ctl, GEN);
    try {
      const value = call();
      return { value, fired: Atomics.load(this.ctl, FIRED) === 1 };
    } finally {
      Atomics.store(this.ctl, GEN, 0);
      Atomics.notify(this.ctl, GEN);
    }
  }
}
