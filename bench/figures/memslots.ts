// 32,764 memslots of 2 MiB on the model against the host's /dev/kvm
// (bench/anchors/memslots.c, KVM_SET_USER_MEMORY_REGION in a loop).
//   node --import tsx bench/figures/memslots.ts [runs=3]
import { join } from 'node:path';
import { createModelBackend } from '../../lib/kvm/model/index.js';
import '../../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KvmSystem } from '../../lib/kvm/handles.js';
import { MAP_ANONYMOUS, MAP_PRIVATE } from '../../lib/kvm/uapi.js';
import { ROOT, compileC, fmt, median, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const runs = Number(process.argv[2] ?? 3);
const NR = 32764;
const SLOT = 2n << 20n;
const figure = `${NR.toLocaleString('en')} memslots`;
const dir = scratch('memslots');
const anchor = compileC(join(dir, 'memslots'), { file: join(ROOT, 'bench/anchors/memslots.c') });

function modelOnce(): number {
  const b = createModelBackend({ kernel: '6.18' });
  const { sys } = KvmSystem.__open(b);
  const vm = sys!.__createVm(0).vm!;
  const mem = b.mmap(0n, BigInt(NR) * SLOT, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
  const t0 = performance.now();
  for (let i = 0; i < NR; i++) {
    const r = vm.__setUserMemoryRegion({ slot: i, flags: 0, guestPhysAddr: BigInt(i) * SLOT, memorySize: SLOT, userspaceAddr: mem + BigInt(i) * SLOT });
    if (r.ret !== 0) throw new Error(`slot ${i}: errno ${r.errno}`);
  }
  const ms = performance.now() - t0;
  vm.__close();
  sys!.__close();
  return ms;
}

const m: number[] = [];
const k: number[] = [];
let why = '';
modelOnce();
for (let i = 0; i < runs; i++) {
  m.push(modelOnce());
  const r = timeRun(anchor, [String(NR)]);
  if (r.status === 0) k.push(Number(r.stdout.trim()));
  else why = r.stderr.trim().split('\n')[0] ?? `status ${r.status}`;
}
const mm = median(m);
if (k.length) {
  const km = median(k);
  emitRow({ id: 'memslots.max', figure, ours: fmt.ms(mm), anchor: `real KVM ${fmt.ms(km)}`, ratio: mm / km, target: '≤ 0.2×', met: mm / km <= 0.2 });
} else {
  emitRow({ id: 'memslots.max', figure, ours: fmt.ms(mm), anchor: 'real KVM: unavailable', ratio: null, target: '≤ 0.2×', met: null, note: why });
}
