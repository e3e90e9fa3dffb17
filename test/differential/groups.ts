/** Every differential case group with its host-specific table. */

import type { HostSpecific } from '../../tools/kvm_probe/compare.js';
import type { DiffCase } from '../../tools/kvm_probe/differential.js';
import { attributeCases } from './cases/attributes.js';
import { gmemCases } from './cases/gmem.js';
import { memslotCases } from './cases/memslots.js';
import { systemCases } from './cases/system.js';
import { attributeHostSpecific } from './host_specific/attributes.js';
import { gmemHostSpecific } from './host_specific/gmem.js';
import { memslotHostSpecific } from './host_specific/memslots.js';
import { systemHostSpecific } from './host_specific/system.js';

export interface Group {
  readonly name: string;
  readonly cases: readonly DiffCase[];
  readonly hostSpecific: readonly HostSpecific[];
}

export const GROUPS: readonly Group[] = [
  { name: 'system', cases: systemCases, hostSpecific: systemHostSpecific },
  { name: 'gmem', cases: gmemCases, hostSpecific: gmemHostSpecific },
  { name: 'memslots', cases: memslotCases, hostSpecific: memslotHostSpecific },
  { name: 'attributes', cases: attributeCases, hostSpecific: attributeHostSpecific },
];
