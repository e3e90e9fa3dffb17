// Memory of a 1 TiB guest_memfd with 1000 pages written on the model,
// against the same on the host's /dev/kvm (bench/anchors/gmem_touch.c:
// MMAP | INIT_SHARED gmem of a default VM, RssFile growth).
//   node --expose-gc --import tsx bench/figures/gmem.ts
import { join } from 'node:path';
import { createModelBackend } from '../../lib/kvm/model/index.js';
import '../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KvmSystem } from '../../lib/kvm/handles.js';
import { ROOT, compileC, fmt, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const SIZE = 1n << 40n;
const PAGES = 1000;
const STRIDE = (SIZE / BigInt(PAGES)) & ~4095n;
const figure = '1 TiB guest_memfd, 1000 pages touched';
const target = 'data ≤ 1.1× real';

/** Heap plus ArrayBuffer bytes after a full GC: what the model keeps. */
function held(): number {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** One gmem of the model with PAGES pages written through its mapping; returns the growth and a release. */
function modelRound(): { grew: number; release: () => void } {
  const before = held();
  const b = createModelBackend({ kernel: '6.18' });
  const { sys } = KvmSystem.__open(b);
  const vm = sys!.__createVm(0).vm!;
  const g = vm.__createGuestMemfd(SIZE, 3n).gmem!;
  const addr = g.__mmap(SIZE).addr;
  for (let i = 0n; i < BigInt(PAGES); i++) b.hostFill(addr + i * STRIDE, 4096, 0xaa);
  const grew = held() - before;
  return { grew, release: () => { g.__close(); vm.__close(); sys!.__close(); } };
}

if (!global.gc) throw new Error('run with node --expose-gc');
modelRound().release(); // the code paths compiled before anything is counted
const { grew, release } = modelRound();
release();

const dir = scratch('gmem');
const anchor = compileC(join(dir, 'gmem_touch'), { file: join(ROOT, 'bench/anchors/gmem_touch.c') });
const r = timeRun(anchor, [String(SIZE), String(PAGES)]);
if (r.status === 0) {
  const real = Number(r.stdout.trim());
  emitRow({ id: 'gmem.1tib', figure, ours: `+${fmt.mib(grew)}`, anchor: `real gmem +${fmt.mib(real)}`, ratio: grew / real, target, met: grew / real <= 1.1 });
} else {
  const real = PAGES * 4096;
  emitRow({
    id: 'gmem.1tib', figure, ours: `+${fmt.mib(grew)}`, anchor: `${fmt.mib(real)} of data (no mmap-able gmem on this host)`, ratio: grew / real, target, met: grew / real <= 1.1,
    note: `real anchor: ${r.stderr.trim().split('\n')[0] ?? `status ${r.status}`}`,
  });
}
