/** SEV (KVM_X86_SEV_VM) scenarios on the model: see sev_scenarios.ts. */
import { TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { sevScenarios } from './sev_scenarios.js';

sevScenarios('sev');
void TEST_HARNESS_MAIN();
