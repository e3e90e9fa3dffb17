// Memory cost of huge sparse guest memory in the model backend.
//   node --import tsx bench/model_memory.ts [touched_pages=4096]
// Creates a 1 TiB guest_memfd (MMAP|INIT_SHARED, default VM), a 1 TiB
// anonymous mapping and a 1 TiB gmem memslot, fallocates the whole gmem,
// then touches N pages spread over each. Prints RSS/heap growth, the model's
// resident page count and the time of each step.
import { createModelBackend } from '../lib/kvm/model/index.js';
import '../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KvmSystem } from '../lib/kvm/handles.js';
import { KVM_MEM_GUEST_MEMFD, MAP_ANONYMOUS, MAP_PRIVATE } from '../lib/kvm/uapi.js';

const n = Number(process.argv[2] ?? 4096);
if (!Number.isInteger(n) || n <= 0) {
  console.error(`touched_pages: '${process.argv[2]}' is not a positive integer`);
  process.exit(1);
}
const TiB = 1n << 40n;
const mb = (x: number) => (x / 2 ** 20).toFixed(1);
const ms = (t0: number) => (performance.now() - t0).toFixed(1);

global.gc?.();
const before = process.memoryUsage();
const b = createModelBackend({ kernel: '6.18' });
const { sys } = KvmSystem.__open(b);
const vm = sys!.__createVm(0).vm!;
let t0 = performance.now();
const g = vm.__createGuestMemfd(TiB, 3n).gmem!;
console.log(`create 1 TiB gmem: ${ms(t0)} ms`);
t0 = performance.now();
console.log(`fallocate(KEEP_SIZE, 0, 1 TiB) = ${g.__fallocate(1, 0, TiB).ret}: ${ms(t0)} ms`);
t0 = performance.now();
const r = vm.__setUserMemoryRegion2({ slot: 1, flags: KVM_MEM_GUEST_MEMFD, guestPhysAddr: 1n << 44n, memorySize: TiB, userspaceAddr: 0, guestMemfd: g.fd });
console.log(`1 TiB gmem memslot = ${r.ret}: ${ms(t0)} ms`);
const gm = g.__mmap(TiB).addr;
const anon = b.mmap(0n, TiB, 3, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n).addr;
const stride = TiB / BigInt(n);
t0 = performance.now();
for (let i = 0n; i < BigInt(n); i++) {
  b.hostFill(gm + i * stride, 4096, 0xaa);
  b.hostFill(anon + i * stride, 4096, 0x55);
}
console.log(`touch ${n} pages in each: ${ms(t0)} ms`);
const after = process.memoryUsage();
console.log(`resident model pages: ${b.residentPages()} (${mb(b.residentPages() * 4096)} MiB of data)`);
console.log(`rss +${mb(after.rss - before.rss)} MiB, heap +${mb(after.heapUsed - before.heapUsed)} MiB, arrayBuffers +${mb(after.arrayBuffers - before.arrayBuffers)} MiB`);
t0 = performance.now();
g.__fallocate(3, 0, TiB);
console.log(`punch 1 TiB: ${ms(t0)} ms; resident pages now ${b.residentPages()}`);
