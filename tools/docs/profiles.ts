// What differs between the model's kernel release profiles
// (lib/kvm/model/profiles.ts), as a table generated from the profiles
// themselves: a row per field of KernelProfile with its doc comment, a
// column per release. The profiles are data the model asks ("code asks
// the profile; it never tests the release name"), so this table is the
// whole difference.
import { SymbolFlags } from 'typescript/unstable/sync';
import { PROFILES, type KernelName, type KernelProfile } from '../../lib/kvm/model/profiles.js';
import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP } from '../../lib/kvm/uapi.js';
import type { TsProject } from './ts_project.js';

const VM_TYPES: Readonly<Record<number, string>> = { 1: 'SW_PROTECTED', 2: 'SEV', 3: 'SEV_ES', 4: 'SNP', 5: 'TDX' };

function gmemFlags(v: bigint): string {
  const names: string[] = [];
  if (v & GUEST_MEMFD_FLAG_MMAP) names.push('MMAP');
  if (v & GUEST_MEMFD_FLAG_INIT_SHARED) names.push('INIT_SHARED');
  const rest = v & ~(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join(' \\| ') : 'none';
}

function value(field: keyof KernelProfile, p: KernelProfile): string {
  const v = p[field];
  switch (field) {
    case 'gmemFlags':
      return `without private memory: ${gmemFlags(p.gmemFlags.noPrivateMem)}; with: ${gmemFlags(p.gmemFlags.privateMem)}`;
    case 'gmemFlagsSystem':
      return gmemFlags(p.gmemFlagsSystem);
    case 'absentVmTypes': {
      const t = Object.entries(VM_TYPES).filter(([n]) => p.absentVmTypes & (1 << Number(n))).map(([n, s]) => `${s} (${n})`);
      return t.length ? t.join(', ') : 'none';
    }
    case 'supportedQuirks':
      return `0x${p.supportedQuirks.toString(16)}`;
    default:
      return typeof v === 'boolean' ? (v ? 'yes' : 'no') : `\`${String(v)}\``;
  }
}

/** The table (Markdown), from the profiles and KernelProfile's doc comments. */
export function profilesTable(p: TsProject): string {
  const sym = p.exportsOf('lib/kvm/model/profiles.ts').find((e) => e.name === 'KernelProfile')?.symbol;
  if (!sym || !(sym.flags & SymbolFlags.Interface)) throw new Error('lib/kvm/model/profiles.ts: no interface KernelProfile');
  const props = p.checker.getPropertiesOfType(p.checker.getDeclaredTypeOfSymbol(sym));
  const names = Object.keys(PROFILES) as KernelName[];
  const rows = [`| Field | Meaning | ${names.map((n) => `\`${n}\``).join(' | ')} |`, `|---|---|${names.map(() => '---').join('|')}|`];
  for (const prop of props) {
    const field = prop.name as keyof KernelProfile;
    if (field === 'name') continue;
    const doc = prop.getDocumentationComment(p.checker).replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
    const cells = names.map((n) => value(field, PROFILES[n]));
    const same = cells.every((c) => c === cells[0]);
    rows.push(`| \`${field}\`${same ? '' : ' ◆'} | ${doc} | ${cells.join(' | ')} |`);
  }
  return `${rows.join('\n')}\n\n◆ differs between releases.\n`;
}
