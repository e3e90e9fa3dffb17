// The visibility checks over 64 MiB on the model: expectGuestSees (the
// guest's memcmp_g, run by the model's interpreter) and expectHostSees (the
// host's memcmp_h through the shared HVA), against C memcmp() of two 64 MiB
// buffers; the host side's peak memory beyond what the guest memory holds.
//   node --expose-gc --import tsx bench/figures/visibility.ts [runs=5]
import { join } from 'node:path';
import { expectGuestSees, expectHostSees } from '../../lib/kvm_util/visibility.js';
import { UCALL_DONE } from '../../lib/kvm/uapi.js';
import {
  VM_MEM_SRC_ANONYMOUS, addrGpa2Hva, getUcall, hostFill, kvmVmFree, vcpuRun, vcpuSetGuestCode,
  vmCreateWithOneVcpu, vmUserspaceMemRegionAdd, TEST_ASSERT,
} from '../../lib/kvm_util/index.js';
import { ROOT, compileC, fmt, median, memStatus, resetPeak, scratch, timeRun } from '../lib/measure.js';
import { emitRow } from '../lib/report.js';

const runs = Number(process.argv[2] ?? 5);
const SIZE = 64 << 20;
const GPA = 1n << 32n;
const dir = scratch('visibility');
const memcmp = compileC(join(dir, 'memcmp'), { file: join(ROOT, 'bench/anchors/memcmp.c') });
const cBytesPerMs = (): number => {
  const r = timeRun(memcmp, [String(SIZE), '5']);
  if (r.status !== 0) throw new Error(`memcmp anchor: status ${r.status}`);
  return Number(r.stdout.trim());
};

const { vm, vcpu } = vmCreateWithOneVcpu();
vmUserspaceMemRegionAdd(vm, VM_MEM_SRC_ANONYMOUS, GPA, 1, SIZE / 4096, 0);
hostFill(BigInt(addrGpa2Hva(vm, GPA)), SIZE, 0xaa);

async function guestOnce(): Promise<number> {
  vcpuSetGuestCode(vcpu, (g) => { expectGuestSees(g, GPA, SIZE, 0xaa); g.done(); });
  const t0 = performance.now();
  await vcpuRun(vcpu);
  const ms = performance.now() - t0;
  TEST_ASSERT(getUcall(vcpu).cmd === UCALL_DONE, 'the guest check did not pass');
  return SIZE / ms;
}

function hostOnce(): { bytesPerMs: number; peak: number } {
  global.gc?.();
  resetPeak();
  const before = memStatus().rss;
  const t0 = performance.now();
  expectHostSees(vm, GPA, SIZE, 0xaa);
  const ms = performance.now() - t0;
  return { bytesPerMs: SIZE / ms, peak: memStatus().hwm - before };
}

// The anchor reports the best of its rounds; each of our samples is the
// best of ROUNDS runs the same way, after two warm-up runs (JIT tiers).
const ROUNDS = 3;
const bestOf = async (f: () => number | Promise<number>): Promise<number> => {
  let best = 0;
  for (let i = 0; i < ROUNDS; i++) best = Math.max(best, await f());
  return best;
};
for (let i = 0; i < 2; i++) {
  await guestOnce();
  hostOnce();
}
const c: number[] = [];
const g: number[] = [];
const h: number[] = [];
const peaks: number[] = [];
for (let i = 0; i < runs; i++) {
  c.push(cBytesPerMs());
  g.push(await bestOf(guestOnce));
  h.push(await bestOf(() => {
    const r = hostOnce();
    peaks.push(r.peak);
    return r.bytesPerMs;
  }));
}
kvmVmFree(vm);
const cm = median(c);
const gm = median(g);
const hm = median(h);
const peak = Math.max(...peaks);
emitRow({ id: 'visibility.guest', figure: 'guest-side pattern check (expectGuestSees) over 64 MiB', ours: fmt.gbs(gm), anchor: `C memcmp ${fmt.gbs(cm)}`, ratio: gm / cm, target: '≥ 0.5× memcmp', met: gm / cm >= 0.5 });
emitRow({
  id: 'visibility.host', figure: 'host-side check (expectHostSees) over 64 MiB', ours: `${fmt.gbs(hm)}, peak +${fmt.mib(peak)}`, anchor: `C memcmp ${fmt.gbs(cm)}`,
  ratio: hm / cm, target: '≥ 0.5× memcmp, peak ≤ range + 16 MiB', met: hm / cm >= 0.5 && peak <= SIZE + (16 << 20),
});
