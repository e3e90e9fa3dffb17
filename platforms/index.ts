/**
 * The built-in platform plugins, one folder each. Their manifests are
 * imported (not read from disk) so that bundled selftests carry them.
 */
import cca from './cca/manifest.json' with { type: 'json' };
import def from './default/manifest.json' with { type: 'json' };
import pkvm from './pkvm/manifest.json' with { type: 'json' };
import sev from './sev/manifest.json' with { type: 'json' };
import sevEs from './sev_es/manifest.json' with { type: 'json' };
import snp from './snp/manifest.json' with { type: 'json' };
import swProtected from './sw_protected/manifest.json' with { type: 'json' };
import tdx from './tdx/manifest.json' with { type: 'json' };

/** name → [manifest JSON, its path for messages]. */
export const BUILTIN_MANIFESTS: Readonly<Record<string, readonly [unknown, string]>> = {
  default: [def, 'platforms/default/manifest.json'],
  sw_protected: [swProtected, 'platforms/sw_protected/manifest.json'],
  tdx: [tdx, 'platforms/tdx/manifest.json'],
  sev: [sev, 'platforms/sev/manifest.json'],
  sev_es: [sevEs, 'platforms/sev_es/manifest.json'],
  snp: [snp, 'platforms/snp/manifest.json'],
  pkvm: [pkvm, 'platforms/pkvm/manifest.json'],
  cca: [cca, 'platforms/cca/manifest.json'],
};

export const BUILTIN_PLATFORM_NAMES = Object.keys(BUILTIN_MANIFESTS);
