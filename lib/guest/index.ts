export type {
  GuestAlu, GuestCmp, GuestCompare, GuestCond, GuestOp, GuestOperand, GuestProgram, GuestReg, GuestView, GuestWidth, SourceLoc,
} from '../kvm/guest_program.js';
export { GuestBuilder, any, cmp, eq, ne, recordGuestProgram, type GuestCode, type GuestValue } from './builder.js';
export * from './helpers.js';
