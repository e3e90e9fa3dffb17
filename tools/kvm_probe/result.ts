/**
 * One call's result as the C probe prints it (a JSON line) and as the model
 * runner produces it, plus the normal form both are compared in.
 */

import { Type, type Static } from '@sinclair/typebox';
import { errnoName } from '../../lib/kvm/errno.js';
import { FD_OPS, type ProbeCall } from './script.js';

const U64String = Type.String({ pattern: '^[0-9]+$' });

export const ProbeResultSchema = Type.Object({
  line: Type.Integer({ minimum: 1 }),
  op: Type.String({ minLength: 1 }),
  ret: Type.Integer(),
  errno: Type.Integer({ minimum: 0 }),
  /** fstat */
  size: Type.Optional(U64String),
  blksize: Type.Optional(Type.Integer()),
  mode: Type.Optional(Type.Integer({ minimum: 0 })),
  ino: Type.Optional(U64String),
  /** pre_fault: the range the kernel wrote back */
  gpa: Type.Optional(U64String),
  /** peek */
  value: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  /** peek/poke that took a signal */
  signal: Type.Optional(Type.Union([Type.Literal('SIGBUS'), Type.Literal('SIGSEGV')])),
}, { additionalProperties: false });

export type ProbeResult = Static<typeof ProbeResultSchema>;

/**
 * The comparable form of a result: fds and addresses are "fd"/"ok" (their
 * numbers are the process's, not the kernel's), inode numbers are replaced
 * by their order of first appearance in the script (so "distinct inode"
 * and "same inode" compare, the numbers do not).
 */
export function normalize(call: ProbeCall, r: ProbeResult, inodes: Map<string, number>): string {
  if (r.signal) return r.signal;
  const head = r.ret < 0 ? `-1 ${errnoName(r.errno)}` : FD_OPS.has(call.op) ? 'fd' : call.op === 'mmap' || call.op === 'mmap_anon' ? 'ok' : String(r.ret);
  const extra: string[] = [];
  if (r.size !== undefined && call.op === 'fstat') extra.push(`size=${r.size}`);
  if (r.blksize !== undefined) extra.push(`blksize=${r.blksize}`);
  if (r.mode !== undefined) extra.push(`mode=0${r.mode.toString(8)}`);
  if (r.ino !== undefined) {
    if (!inodes.has(r.ino)) inodes.set(r.ino, inodes.size);
    extra.push(`ino#${inodes.get(r.ino)}`);
  }
  if (call.op === 'pre_fault') extra.push(`gpa=0x${BigInt(r.gpa ?? '0').toString(16)}`, `size=0x${BigInt(r.size ?? '0').toString(16)}`);
  if (r.value !== undefined) extra.push(`value=${r.value}`);
  return [head, ...extra].join(' ');
}
