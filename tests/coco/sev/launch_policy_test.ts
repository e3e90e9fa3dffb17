/**
 * The RFC question (2022 fd-based private memory threads): which launch flow
 * works under which private-memory policy? One test per cell of the matrix
 * (lib/platform/launch_policy.ts plays the flow step by step); the expected
 * table is written out here, independently of the simulation.
 *
 *                           in-place (SEV)   populate (SNP/TDX/CCA)   write-before-run (pKVM)
 *   inaccessible                 no                  no                        no
 *   shareable-until-launch       yes                 yes                       yes
 *   source-copy                  no                  yes                       no
 *
 * Wherever a flow works, the VMM must have lost write access once the
 * launch is measured.
 */
import { ASSERT_EQ, ASSERT_FALSE, ASSERT_TRUE, TEST, TEST_HARNESS_MAIN, TH_LOG } from '../../../lib/harness/index.js';
import { LAUNCH_FLOWS, MEMORY_POLICIES, runLaunch, type LaunchFlow, type MemoryPolicy } from '../../../lib/platform/launch_policy.js';

const EXPECTED: Readonly<Record<MemoryPolicy, Readonly<Record<LaunchFlow, boolean>>>> = {
  'inaccessible': { 'in-place': false, 'populate': false, 'write-before-run': false },
  'shareable-until-launch': { 'in-place': true, 'populate': true, 'write-before-run': true },
  'source-copy': { 'in-place': false, 'populate': true, 'write-before-run': false },
};

const payload = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);

for (const policy of MEMORY_POLICIES) {
  for (const flow of LAUNCH_FLOWS) {
    TEST(`${policy.replaceAll('-', '_')}__${flow.replaceAll('-', '_')}`, () => {
      const out = runLaunch(policy, flow, payload);
      TH_LOG(`${policy} x ${flow}: ${out.detail}`);
      ASSERT_EQ(out.ok, EXPECTED[policy][flow]);
      if (out.ok) ASSERT_FALSE(out.vmmWritableAfterLaunch);
      else ASSERT_TRUE(out.detail.length > 0);
    });
  }
}

void TEST_HARNESS_MAIN();
