/**
 * Behaviour name → the code that implements it in the model, and its
 * conversion protocol. A manifest picks one (`behaviour`); its `hardware`
 * parameters are passed in.
 */
import { defaultPlatform, swProtectedPlatform } from '../kvm/model/builtin_platforms.js';
import type { ModelPlatform } from '../kvm/model/platform.js';
import { createCcaModel } from '../../platforms/cca/model.js';
import { createPkvmModel } from '../../platforms/pkvm/model.js';
import { createSevModel } from '../../platforms/sev/model.js';
import { createSnpModel } from '../../platforms/snp/model.js';
import { createTdxModel, tdxGpaw } from '../../platforms/tdx/model.js';
import { withPoisonInjection } from './poison.js';
import { ccaConversion, snpConversion, swProtectedConversion, tdxConversion } from './conversions.js';
import type { BehaviourName, HardwareParams, PlatformManifest } from './manifest.js';
import type { GuestConversion } from './types.js';

export function modelFor(m: PlatformManifest, hw: HardwareParams): ModelPlatform {
  const named = (p: ModelPlatform): ModelPlatform => withPoisonInjection({ ...p, name: m.name });
  switch (m.behaviour) {
    case 'default': return named(defaultPlatform);
    case 'sw_protected': return named(swProtectedPlatform);
    case 'tdx': return named(createTdxModel(hw));
    case 'sev':
    case 'sev_es': return named(createSevModel(m.behaviour, hw));
    case 'snp': return named(createSnpModel(hw));
    case 'pkvm': return named(createPkvmModel(hw));
    case 'cca': return named(createCcaModel(hw));
  }
}

export function conversionFor(b: BehaviourName, hw: HardwareParams): GuestConversion | null {
  switch (b) {
    case 'sw_protected': return swProtectedConversion;
    case 'tdx': return tdxConversion(tdxGpaw(hw) - 1);
    case 'snp': return snpConversion;
    case 'cca': return ccaConversion;
    default: return null;
  }
}
