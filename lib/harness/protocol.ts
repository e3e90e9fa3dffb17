/**
 * What crosses between the harness process and a test process.
 *
 * C forks, so the test sees the parent's registrations, and shares
 * `results->reason` (and, for FIXTURE_TEARDOWN_PARENT, `self`) through
 * MAP_SHARED pages. Node cannot fork: the harness starts the same program
 * again with KSFT_HARNESS_CHILD naming one test, and the test process writes
 * what C would have left in shared memory to a small state file that the
 * harness reads once the process has ended. A file, unlike a pipe, is
 * complete when the process is gone even if a grandchild still holds
 * inherited descriptors.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
// Only the checker: the full Value namespace would triple the size of every
// test bundle, and each test process loads its bundle afresh.
import { Check } from '@sinclair/typebox/value';

export const CHILD_ENV = 'KSFT_HARNESS_CHILD';

export const ChildMarker = Type.Object(
  {
    fixture: Type.Integer({ minimum: 0 }),
    /** -1 when the fixture has no variants. */
    variant: Type.Integer({ minimum: -1 }),
    test: Type.Integer({ minimum: 0 }),
    state: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
export type ChildMarker = Static<typeof ChildMarker>;

export const ChildState = Type.Object(
  {
    reason: Type.String(),
    /** Setup finished without failing: a teardown is owed (C's !no_teardown). */
    armed: Type.Boolean(),
    /** node:v8 serialization of `self`, base64; FIXTURE_TEARDOWN_PARENT only. */
    self: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type ChildState = Static<typeof ChildState>;

export function parseMarker(text: string): ChildMarker {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Check(ChildMarker, value)) throw new Error(`${CHILD_ENV}: malformed value ${JSON.stringify(text)}`);
  return value;
}

export function writeState(path: string, state: ChildState): void {
  // Write then rename, so a process killed mid-write leaves the previous state.
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}

/** The state a test process left, or undefined if it wrote none. */
export function readState(path: string): ChildState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Check(ChildState, value)) throw new Error(`harness state file ${path}: malformed contents`);
  return value;
}
