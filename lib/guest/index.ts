export type { GuestOp, GuestProgram, GuestView, SourceLoc } from './program.js';
export { GuestBuilder, recordGuestProgram, type GuestCode } from './builder.js';
export * from './helpers.js';
