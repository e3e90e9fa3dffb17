/**
 * The `kvm` backend against the C probe, on every differential case: both
 * talk to the same kernel, so every result must be identical. A difference
 * here is a bug in the backend's FFI layer (argument widths, struct bytes,
 * errno, fault classification of host accesses), not in the kernel or the
 * model. Skips with the reason when either side cannot run here.
 */
import t from 'tap';
import { pairResults } from '../../tools/kvm_probe/compare.js';
import { prepareOracle } from '../../tools/kvm_probe/oracle.js';
import { parseScript } from '../../tools/kvm_probe/script.js';
import { GROUPS } from './groups.js';

const kvm = prepareOracle('kvm');
const probe = prepareOracle('probe');
const skip = 'skip' in kvm ? kvm.skip : 'skip' in probe ? probe.skip : undefined;

if (skip !== undefined || 'skip' in kvm || 'skip' in probe) {
  t.test('kvm backend vs C probe', { skip: skip ?? 'unavailable' }, async () => {});
} else {
  for (const g of GROUPS) {
    t.test(g.name, async (t) => {
      let rows = 0;
      const differ: string[] = [];
      for (const c of g.cases) {
        // Both columns of a Row here are real results: "real" from the probe, "model" from the backend.
        const paired = pairResults(c.name, parseScript(c.script), probe.run(c.script), kvm.run(c.script));
        rows += paired.length;
        for (const r of paired) if (r.real !== r.model) differ.push(`${r.caseName}:${r.line} ${r.call}: probe ${r.real}, kvm backend ${r.model}`);
      }
      t.ok(rows > 0, `${rows} results`);
      t.same(differ, [], 'the kvm backend answers every call exactly as the C probe');
    });
  }
}
