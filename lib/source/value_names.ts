/**
 * Values in assertion failures by name where the expression says what kind
 * of number it is: `EINVAL (22) != EFAULT (14)` for an errno,
 * `KVM_EXIT_MMIO (6)` for an exit reason, `UCALL_NONE (0)` for a ucall
 * command, instead of `0x16 != 0xe`. The kind is read off the source text
 * of either operand (`r.errno`, `EINVAL`, `vcpu.run.exitReason`), the only
 * thing that distinguishes 22 the errno from 22 the page count once the
 * value is a plain number.
 *
 * errno is a libc concept and is known here; layers above register their
 * own kinds (kvm_util: exit reasons, ucall commands), so the kselftest
 * harness prints them without knowing about KVM.
 */
import { errnoByName, errnoName } from '../libc/errno.js';

/** One kind of named number. */
export interface ValueKind {
  /** Whether an operand's source text says it is of this kind. */
  matches(text: string): boolean;
  /** The value's name, or undefined when it has none (0 for errno). */
  name(value: bigint): string | undefined;
  /** A line to print after the failure about this value (why a ucall is UCALL_NONE). */
  note?(value: bigint): string | undefined;
}

const ERRNO_TEXT = /\berrno\b|getErrno\(\)/;
const ERRNO_CONST = /^-?(E[A-Z0-9]+)$/;

/** errno: `r.errno`, `errno`, `getErrno()`, or a known `E...` constant on either side. */
export const errnoKind: ValueKind = {
  matches: (text) => ERRNO_TEXT.test(text) || (ERRNO_CONST.test(text.trim()) && errnoByName(ERRNO_CONST.exec(text.trim())![1]!) !== undefined),
  name: (v) => {
    const n = Number(v < 0n ? -v : v);
    const sym = errnoName(n);
    if (v === 0n || sym === String(n)) return undefined;
    return `${v < 0n ? '-' : ''}${sym}`;
  },
};

const kinds: ValueKind[] = [errnoKind];

/** Add a kind (kvm_util registers exit reasons and ucall commands). Later kinds are tried first. */
export function registerValueKind(kind: ValueKind): void {
  if (!kinds.includes(kind)) kinds.unshift(kind);
}

/** How two operands of a failed comparison print: `NAME (n)` each, and notes; undefined when no kind applies. */
export interface NamedPair {
  readonly a: string;
  readonly b: string;
  readonly notes: readonly string[];
}

const toBig = (v: unknown): bigint | undefined => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return undefined;
};

/** `NAME (n)`, or the number alone where the value has no name of this kind. */
function show(kind: ValueKind, v: bigint): string {
  const n = kind.name(v);
  return n === undefined ? String(v) : `${n} (${v})`;
}

/**
 * The operands of `textA op textB` by name, when the text of either names
 * a kind and both values are integers.
 */
export function namePair(textA: string | undefined, a: unknown, textB: string | undefined, b: unknown): NamedPair | undefined {
  const x = toBig(a);
  const y = toBig(b);
  if (x === undefined || y === undefined) return undefined;
  const kind = kinds.find((k) => (textA !== undefined && k.matches(textA)) || (textB !== undefined && k.matches(textB)));
  if (!kind) return undefined;
  const notes = [x, y].map((v) => kind.note?.(v)).filter((n): n is string => n !== undefined);
  return { a: show(kind, x), b: show(kind, y), notes: [...new Set(notes)] };
}
