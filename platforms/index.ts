/**
 * The platforms, one folder each, and this list: the only place that names
 * them all. A folder exports one value (lib/platform/types.ts,
 * PlatformDefinition) with its manifest imported, not read from disk, so
 * bundled selftests carry it. kvm_util registers this list with the
 * loader (lib/kvm_util/platform_types.ts); adding a platform is its folder
 * and one line here.
 */
import { cca } from './cca/index.js';
import { defaultVm } from './default/index.js';
import { pkvm } from './pkvm/index.js';
import { sev } from './sev/index.js';
import { sevEs } from './sev_es/index.js';
import { snp } from './snp/index.js';
import { swProtected } from './sw_protected/index.js';
import { tdx } from './tdx/index.js';

export const PLATFORMS = [defaultVm, swProtected, sev, sevEs, snp, tdx, pkvm, cca] as const;
