/**
 * One thread per vCPU, for the vCPU's whole life, that issues KVM_RUN
 * synchronously: the test's main thread stays free to change memslots and
 * attributes while a guest spins, as the vCPU pthreads of a C selftest do.
 *
 * Why a thread of our own and not koffi's asynchronous calls: those run on
 * a pool, and KVM_RUN from a thread other than the last one costs the vCPU
 * a pid switch in KVM (kvm_vcpu_ioctl(): vcpu->pid), measured at about 60 µs
 * against 8 µs for a whole bare KVM_RUN here, about 9x per exit.
 *
 * The protocol is a few Int32 words in shared memory: the main thread sets
 * RUN and wakes the thread, the thread runs KVM_RUN, stores ret and errno,
 * bumps the sequence number and wakes whoever waits on it
 * (Atomics.waitAsync on the main thread, so awaiting a run costs no poll).
 * Kicking is immediate_exit plus SIGUSR2 to the thread, the canonical way
 * out of KVM_RUN (Documentation/virt/kvm/api.rst, KVM_RUN and
 * immediate_exit): a signal ends even a guest that livelocks inside KVM.
 *
 * Handing a run over and back costs two thread wake-ups, several times the
 * cost of an exit itself. With a CPU to spare, both sides first poll the
 * shared word for a short while (most exits return within microseconds,
 * and a host loop answers them at once), and only then sleep; on a single
 * CPU polling would only keep the other side off it, so nobody polls.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SysResult } from '../backend.js';
import { KVM_RUN } from '../uapi.js';
import type { Libc } from './libc.js';

const SIGUSR2 = 12;

/* Control words. */
const CMD = 0;
const RET = 1;
const ERRNO = 2;
const SEQ = 3;
const READY = 4;
const WORDS = 5;

const CMD_IDLE = 0;
const CMD_RUN = 1;
const CMD_EXIT = 2;

/** How long each side polls before it sleeps (ms); 0 on a single CPU. */
const SPIN_MS = availableParallelism() > 1 ? 0.1 : 0;

/*
 * CommonJS, evaluated in the worker: the test bundle is one file, so the
 * thread's code travels as text; koffi is loaded from the path the main
 * thread resolved. The thread owns a dup of the vCPU fd and closes it when
 * it ends, so a number the test closes and reuses can never be run.
 */
const SOURCE = `
const { workerData } = require('node:worker_threads');
const koffi = require(workerData.koffiPath);
const lib = koffi.load('libc.so.6');
const ioctl = lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
const close = lib.func('close', 'int', ['int']);
const self = lib.func('pthread_self', 'uint64_t', []);
const ctl = workerData.ctl;
const tid = new BigUint64Array(workerData.tid);
tid[0] = BigInt(self());
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
const spinMs = workerData.spinMs;
for (;;) {
  if (spinMs > 0 && Atomics.load(ctl, ${CMD}) === ${CMD_IDLE}) {
    const until = performance.now() + spinMs;
    while (Atomics.load(ctl, ${CMD}) === ${CMD_IDLE} && performance.now() < until);
  }
  Atomics.wait(ctl, ${CMD}, ${CMD_IDLE});
  const cmd = Atomics.load(ctl, ${CMD});
  if (cmd === ${CMD_EXIT}) break;
  if (cmd !== ${CMD_RUN}) continue;
  const r = ioctl(workerData.fd, ${KVM_RUN}, 0);
  Atomics.store(ctl, ${RET}, r);
  Atomics.store(ctl, ${ERRNO}, r < 0 ? koffi.errno() : 0);
  // An end requested during the run must survive it.
  Atomics.compareExchange(ctl, ${CMD}, ${CMD_RUN}, ${CMD_IDLE});
  Atomics.add(ctl, ${SEQ}, 1);
  Atomics.notify(ctl, ${SEQ});
}
close(workerData.fd);
`;

/** Threads that may be inside KVM_RUN; the process cannot end while one is (Node joins its workers). */
const live = new Set<VcpuThread>();
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  // A real handler, so the kick interrupts KVM_RUN instead of killing us.
  process.on('SIGUSR2', () => {});
  // process.exit() joins the worker threads: get every one out of KVM_RUN first.
  process.on('exit', () => {
    for (const t of live) t.kickForExit();
  });
}

export class VcpuThread {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  private readonly tidBuf = new SharedArrayBuffer(8);
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private running = false;
  private ended = false;
  /** The worker keeps the process alive (a run is in flight, or was a moment ago). */
  private referenced = false;
  private unrefQueued = false;
  /** Why the thread died, if it did. */
  failure: string | undefined;

  /**
   * @param fd a dup of the vCPU fd that the thread takes over
   * @param immediateExit sets kvm_run->immediate_exit (the vCPU's mapping)
   */
  constructor(private readonly libc: Libc, fd: number, private readonly immediateExit: (v: number) => void) {
    hookProcess();
    this.worker = new Worker(SOURCE, { eval: true, workerData: { koffiPath: libc.koffiPath, fd, ctl: this.ctl, tid: this.tidBuf, spinMs: SPIN_MS } });
    this.worker.unref();
    this.worker.on('error', (e) => {
      // A thread that cannot run (koffi would not load in it): wake every waiter; runs now fail.
      this.failure = e instanceof Error ? e.message : String(e);
      this.ended = true;
      live.delete(this);
      Atomics.store(this.ctl, READY, 1);
      Atomics.notify(this.ctl, READY);
      Atomics.add(this.ctl, SEQ, 1);
      Atomics.notify(this.ctl, SEQ);
    });
    this.ready = this.waitFor(READY, 0);
    live.add(this);
  }

  private async waitFor(index: number, value: number): Promise<void> {
    const w = Atomics.waitAsync(this.ctl, index, value);
    if (w.async) await w.value;
  }

  /** KVM_RUN on the thread; resolves with its ret/errno. Runs of one vCPU are serialised by the caller. */
  async run(): Promise<SysResult> {
    // Keep the process alive while the thread starts and the guest runs: nothing else may be pending.
    if (!this.referenced) {
      this.worker.ref();
      this.referenced = true;
    }
    try {
      await this.ready;
      if (this.ended) throw new Error(`the vCPU thread ended${this.failure ? `: ${this.failure}` : ''}`);
      const seq = Atomics.load(this.ctl, SEQ);
      this.running = true;
      Atomics.store(this.ctl, CMD, CMD_RUN);
      Atomics.notify(this.ctl, CMD);
      if (SPIN_MS > 0) {
        const until = performance.now() + SPIN_MS;
        while (Atomics.load(this.ctl, SEQ) === seq && performance.now() < until);
      }
      if (Atomics.load(this.ctl, SEQ) === seq) await this.waitFor(SEQ, seq);
    } finally {
      this.running = false;
      this.releaseLater();
    }
    if (this.failure) throw new Error(`the vCPU thread failed: ${this.failure}`);
    const ret = Atomics.load(this.ctl, RET);
    return { ret, errno: ret < 0 ? Atomics.load(this.ctl, ERRNO) : 0 };
  }

  /**
   * KVM_RUN with the main thread blocked until it returns or `timeoutMs`
   * pass; then immediate_exit and the signal end it (a guest that livelocks
   * inside KVM: the hypercall probe). `timedOut` says the watchdog fired.
   */
  runSync(timeoutMs: number): SysResult & { readonly timedOut: boolean } {
    if (Atomics.wait(this.ctl, READY, 0, 10_000) === 'timed-out' || this.ended) {
      throw new Error(`the vCPU thread did not start${this.failure ? `: ${this.failure}` : ''}`);
    }
    const seq = Atomics.load(this.ctl, SEQ);
    this.running = true;
    Atomics.store(this.ctl, CMD, CMD_RUN);
    Atomics.notify(this.ctl, CMD);
    let timedOut = false;
    if (Atomics.wait(this.ctl, SEQ, seq, timeoutMs) === 'timed-out') {
      timedOut = true;
      this.immediateExit(1);
      this.signal();
      while (Atomics.wait(this.ctl, SEQ, seq, 1000) === 'timed-out') this.signal();
    }
    this.running = false;
    const ret = Atomics.load(this.ctl, RET);
    return { ret, errno: ret < 0 ? Atomics.load(this.ctl, ERRNO) : 0, timedOut };
  }

  /**
   * Let the process end without this thread again, once the event loop
   * turns with no run in flight: a host loop that runs the vCPU again at
   * once keeps the reference instead of dropping and taking it per exit.
   */
  private releaseLater(): void {
    if (this.unrefQueued) return;
    this.unrefQueued = true;
    setImmediate(() => {
      this.unrefQueued = false;
      if (this.running || !this.referenced) return;
      this.worker.unref();
      this.referenced = false;
    }).unref();
  }

  /** Signal the thread if it is in (or about to enter) KVM_RUN. immediate_exit is the caller's. */
  signal(): void {
    if (!this.running || this.ended) return;
    const tid = new BigUint64Array(this.tidBuf)[0]!;
    if (tid !== 0n) this.libc.pthreadKill(tid, SIGUSR2);
  }

  kickForExit(): void {
    if (!this.running) return;
    this.immediateExit(1);
    this.signal();
  }

  /** End the thread: out of KVM_RUN if it is in it, then the loop stops and the fd is closed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    live.delete(this);
    Atomics.store(this.ctl, CMD, CMD_EXIT);
    Atomics.notify(this.ctl, CMD);
    if (this.running) {
      this.immediateExit(1);
      const tid = new BigUint64Array(this.tidBuf)[0]!;
      if (tid !== 0n) this.libc.pthreadKill(tid, SIGUSR2);
    }
  }
}
