// What `make new_test` takes, checked before anything is written:
// COLLECTION (an existing collection under tests/), NAME (a C-identifier
// test name, as kselftest program names are), STYLE (plain or harness).
// A bad value is one line naming the variable, the value and what is
// accepted.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { STYLES, type Style } from './templates.js';

export const NewTestArgsSchema = Type.Object({
  COLLECTION: Type.String({ pattern: '^[a-z0-9_][a-z0-9_-]*(/[a-z0-9_][a-z0-9_-]*)*$' }),
  NAME: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  STYLE: Type.Union(STYLES.map((s) => Type.Literal(s))),
});
export type NewTestArgs = Static<typeof NewTestArgsSchema>;

const EXPECTED: Readonly<Record<keyof NewTestArgs, string>> = {
  COLLECTION: 'a collection folder under tests/, e.g. kvm or coco/tdx',
  NAME: 'lowercase letters, digits and _, starting with a letter, at most 64 characters, e.g. foo_test',
  STYLE: STYLES.join('|'),
};

export const USAGE = 'make new_test COLLECTION=<collection> NAME=<name> [STYLE=plain|harness]';

/** The variables as given (unset ones absent or empty). */
export interface RawNewTestArgs {
  readonly COLLECTION?: string;
  readonly NAME?: string;
  readonly STYLE?: string;
}

/** The arguments, or the one-line error about the first bad one. */
export function parseNewTestArgs(raw: RawNewTestArgs): { ok: true; args: NewTestArgs } | { ok: false; error: string } {
  const v = { COLLECTION: (raw.COLLECTION ?? '').replace(/\/+$/, ''), NAME: raw.NAME ?? '', STYLE: raw.STYLE || 'plain' };
  for (const key of ['COLLECTION', 'NAME'] as const) {
    if (v[key] === '') return { ok: false, error: `new_test: ${key} is required (${USAGE})` };
  }
  if (Value.Check(NewTestArgsSchema, v)) return { ok: true, args: { ...v, STYLE: v.STYLE as Style } };
  const first = Value.Errors(NewTestArgsSchema, v).First();
  const key = (first?.path.replace(/^\//, '') ?? 'NAME') as keyof NewTestArgs;
  return { ok: false, error: `new_test: ${key} '${v[key]}' is not valid (expected ${EXPECTED[key]})` };
}
