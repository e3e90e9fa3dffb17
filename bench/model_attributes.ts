// KVM_SET_MEMORY_ATTRIBUTES scaling in the model backend: time per call and
// per guest-visible lookup as the number of attribute ranges grows.
//   node --import tsx bench/model_attributes.ts [calls=20000]
// For each target range count R, fragments a SW_PROTECTED VM's GFN space into
// R private runs (every other page), then times `calls` random single-page
// conversions and `calls` attribute lookups through a guest read loop.
import { createModelBackend, type PlatformVmContext } from '../lib/kvm/model/index.js';
import '../lib/kvm_util/platform_types.js'; // the platforms' VM types for the model backends made here
import { KvmSystem } from '../lib/kvm/handles.js';

const calls = Number(process.argv[2] ?? 20000);
if (!Number.isInteger(calls) || calls <= 0) {
  console.error(`calls: '${process.argv[2]}' is not a positive integer`);
  process.exit(1);
}
let seed = 12345;
const rnd = (m: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % m; };

console.log('ranges\tus/set_memory_attributes\tus/lookup');
for (const R of [100, 1000, 10000, 100000, 1000000]) {
  const b = createModelBackend({ kernel: '6.18' });
  let ctx: PlatformVmContext | undefined;
  const sw = b.platforms.get(1)!;
  b.registerPlatform(1, { ...sw, attach: (c) => { ctx = c; return sw.attach(c); } });
  const vm = KvmSystem.__open(b).sys!.__createVm(1).vm!;
  for (let i = 0; i < R; i++) vm.__setMemoryAttributes(BigInt(2 * i) * 4096n, 4096, 8);
  const span = 2 * R;
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) vm.__setMemoryAttributes(BigInt(rnd(span)) * 4096n, 4096, rnd(2) ? 8 : 0);
  const set = ((performance.now() - t0) * 1000) / calls;
  t0 = performance.now();
  let priv = 0;
  for (let i = 0; i < calls; i++) if (ctx!.attributes(BigInt(rnd(span)) * 4096n)) priv++;
  const look = ((performance.now() - t0) * 1000) / calls;
  console.log(`${R}\t${set.toFixed(2)}\t${look.toFixed(2)}\t(${priv} private hits)`);
}
