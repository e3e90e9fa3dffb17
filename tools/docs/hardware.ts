// The [H] hardware parameters of every platform behaviour (the block of
// platforms/README.md), generated from the behaviours' typebox schemas
// (PlatformDefinition.hardware) and derivation tables
// (PlatformDefinition.derived): the schema is the one place a parameter,
// its type, its default and its meaning are stated.
import type { TSchema } from '@sinclair/typebox';
import { describeSchema } from '../../lib/platform/validate.js';
import type { PlatformDefinition } from '../../lib/platform/types.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** `Value` for a default: numbers as written, strings quoted, unset for an Optional without one. */
function defaultOf(s: TSchema & { default?: unknown }): string {
  if (s.default === undefined) return 'unset';
  return `\`${JSON.stringify(s.default)}\``;
}

/** A row per parameter; behaviours sharing one schema share the rows. */
export function hardwareTable(definitions: readonly PlatformDefinition[]): string {
  const rows = ['| Behaviour | Parameter | Accepts | Default | Manifest fields it decides | Meaning |', '|---|---|---|---|---|---|'];
  const seen = new Set<PlatformDefinition['hardware']>();
  for (const d of definitions) {
    if (seen.has(d.hardware)) continue;
    seen.add(d.hardware);
    const names = definitions.filter((x) => x.hardware === d.hardware).map((x) => x.name).join(', ');
    for (const [key, prop] of Object.entries(d.hardware.properties)) {
      const s = prop as TSchema & { default?: unknown; description?: string };
      const decides = Object.entries(d.derived ?? {})
        .filter(([, v]) => v?.from === key)
        .map(([field, v]) => `\`${field}\` = ${v!.rule}`)
        .join('; ');
      rows.push(`| ${names} | \`${key}\` | ${cell(describeSchema(s))} | ${defaultOf(s)} | ${cell(decides || '—')} | ${cell(s.description ?? '')} |`);
    }
  }
  return `${rows.join('\n')}\n\nBehaviours not listed (${definitions.filter((d) => Object.keys(d.hardware.properties).length === 0).map((d) => `\`${d.name}\``).join(', ')}) take no parameter.\n`;
}
