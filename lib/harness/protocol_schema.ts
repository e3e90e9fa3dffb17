/**
 * The shapes of what crosses between the harness process and a test
 * process (protocol.ts), as typebox schemas. Test processes do not load
 * typebox: they check with protocol_check.ts, compiled from these schemas
 * by tools/build/schema_check.ts (a test keeps the two in step).
 */
import { Type, type Static } from '@sinclair/typebox';

export const ChildMarker = Type.Object(
  {
    fixture: Type.Integer({ minimum: 0 }),
    /** -1 when the fixture has no variants. */
    variant: Type.Integer({ minimum: -1 }),
    test: Type.Integer({ minimum: 0 }),
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
