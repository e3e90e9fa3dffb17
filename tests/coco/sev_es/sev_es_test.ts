/** SEV-ES (KVM_X86_SEV_ES_VM) scenarios on the model: the SEV memory model plus LAUNCH_UPDATE_VMSA. */
import { TEST_HARNESS_MAIN } from '../../../lib/harness/index.js';
import { sevScenarios } from '../sev/sev_scenarios.js';

sevScenarios('sev_es');
void TEST_HARNESS_MAIN();
