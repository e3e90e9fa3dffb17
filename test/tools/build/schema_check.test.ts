// The compiled schema checks are committed; they must be what the schemas
// compile to today, and must agree with typebox on valid and invalid values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import t from 'tap';
import { checkFiles, generate } from '../../../tools/build/schema_check.js';
import { checkChildMarker, checkChildState } from '../../../lib/harness/protocol_check.js';
import { ChildMarker, ChildState } from '../../../lib/harness/protocol_schema.js';
import { ROOT } from '../runner/helpers.js';

t.test('generated checks are up to date (node --import tsx tools/build/schema_check.ts rewrites them)', async (t) => {
  for (const f of await checkFiles()) t.equal(readFileSync(join(ROOT, f.out), 'utf8'), generate(f), f.out);
});

t.test('compiled checks agree with Value.Check', async (t) => {
  const markers: unknown[] = [
    { fixture: 0, variant: -1, test: 0 }, { fixture: 1, variant: 2, test: 3 }, { fixture: -1, variant: 0, test: 0 },
    { fixture: 0, variant: -2, test: 0 }, { fixture: 0.5, variant: 0, test: 0 }, { fixture: 0, variant: 0 },
    { fixture: 0, variant: 0, test: 0, extra: 1 }, null, [], 'x',
  ];
  for (const m of markers) t.equal(checkChildMarker(m), Value.Check(ChildMarker, m), JSON.stringify(m));
  const states: unknown[] = [
    { reason: '', armed: false }, { reason: 'x', armed: true, self: 'AAA=' }, { reason: 1, armed: false },
    { reason: '', armed: 'no' }, { reason: '', armed: false, self: 3 }, { reason: '', armed: false, other: 1 }, undefined,
  ];
  for (const s of states) t.equal(checkChildState(s), Value.Check(ChildState, s), JSON.stringify(s));
});
