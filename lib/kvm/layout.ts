/**
 * C struct layouts as data: a struct is its fields in declaration order,
 * each a C type (u8, u16, u32, u64, an array of one, another struct), and
 * everything else comes from that one description: each field's offset and
 * the struct's size under the x86-64/arm64 LP64 rules (a field at a multiple
 * of its alignment, the size a multiple of the largest alignment), an
 * encoder from a typed object and a decoder to one. The kernel's headers
 * have no packed structs in the uAPI used here, so natural alignment is the
 * whole rule.
 *
 * Encoding follows a C designated initializer: fields left out are zero,
 * and a value wider than its field is truncated as a C assignment would
 * (so `-1n` is all ones). Multi-byte fields are little-endian, the byte
 * order of every host and guest the project models.
 */
import type { Num } from '../libc/int.js';

interface Layout {
  /** sizeof */
  readonly size: number;
  /** _Alignof */
  readonly align: number;
}

/** An unsigned integer field of 8, 16, 32 or 64 bits. */
export interface Scalar<B extends 8 | 16 | 32 | 64 = 8 | 16 | 32 | 64> extends Layout {
  readonly kind: 'scalar';
  readonly bits: B;
}

/** A fixed-length array field, `T name[length]`. */
export interface ArrayOf<E extends CType = CType> extends Layout {
  readonly kind: 'array';
  readonly elem: E;
  readonly length: number;
}

export type CType = Scalar | ArrayOf | Struct;
export type Fields = Readonly<Record<string, CType>>;

/** What a decoder gives for a field: number up to 32 bits, bigint for 64, arrays and structs in kind. */
export type ValueOf<T> =
  T extends Scalar<64> ? bigint
    : T extends Scalar ? number
      : T extends ArrayOf<infer E> ? ValueOf<E>[]
        : T extends Struct<infer F> ? StructValue<F>
          : never;

/** What an encoder takes for a field: any integer; an array's missing tail and a struct's missing fields are zero. */
export type InputOf<T> =
  T extends Scalar ? Num
    : T extends ArrayOf<infer E> ? readonly InputOf<E>[]
      : T extends Struct<infer F> ? StructInput<F>
        : never;

export type StructValue<F extends Fields> = { [K in keyof F]: ValueOf<F[K]> };
export type StructInput<F extends Fields> = { [K in keyof F]?: InputOf<F[K]> };

type Reader = (dv: DataView, off: number) => unknown;
type Writer = (dv: DataView, off: number, v: unknown) => void;

const scalar = <B extends 8 | 16 | 32 | 64>(bits: B): Scalar<B> => Object.freeze({ kind: 'scalar', bits, size: bits / 8, align: bits / 8 });

export const u8: Scalar<8> = scalar(8);
export const u16: Scalar<16> = scalar(16);
export const u32: Scalar<32> = scalar(32);
export const u64: Scalar<64> = scalar(64);

/** `elem name[length]`. */
export function array<E extends CType>(elem: E, length: number): ArrayOf<E> {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`array length ${length} is not a count`);
  return Object.freeze({ kind: 'array', elem, length, size: elem.size * length, align: elem.align });
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

// Setters take any integer. DataView's integer setters reduce a number
// modulo 2^bits (ToUint8/16/32) and setBigUint64 reduces modulo 2^64
// (ToBigUint64): exactly C's conversion to an unsigned type. A bigint for a
// narrower field is cut with BigInt.asUintN first.
function scalarWriter(bits: 8 | 16 | 32 | 64): Writer {
  switch (bits) {
    case 8: return (dv, off, v) => dv.setUint8(off, typeof v === 'bigint' ? Number(BigInt.asUintN(8, v)) : intOf(v));
    case 16: return (dv, off, v) => dv.setUint16(off, typeof v === 'bigint' ? Number(BigInt.asUintN(16, v)) : intOf(v), true);
    case 32: return (dv, off, v) => dv.setUint32(off, typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : intOf(v), true);
    case 64: return (dv, off, v) => dv.setBigUint64(off, typeof v === 'bigint' ? v : BigInt(intOf(v)), true);
  }
}

/** A number that C could assign: an integer (a fraction or NaN is a caller bug, not a value to round). */
function intOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`struct field value ${String(v)} is not an integer`);
  return v;
}

function scalarReader(bits: 8 | 16 | 32 | 64): Reader {
  switch (bits) {
    case 8: return (dv, off) => dv.getUint8(off);
    case 16: return (dv, off) => dv.getUint16(off, true);
    case 32: return (dv, off) => dv.getUint32(off, true);
    case 64: return (dv, off) => dv.getBigUint64(off, true);
  }
}

function writerOf(t: CType): Writer {
  if (t.kind === 'scalar') return scalarWriter(t.bits);
  if (t.kind === 'struct') return t[codec].write;
  const one = writerOf(t.elem);
  const { length } = t;
  const step = t.elem.size;
  return (dv, off, v) => {
    const items = v as readonly unknown[];
    const n = Math.min(items.length, length);
    for (let i = 0; i < n; i++) if (items[i] !== undefined) one(dv, off + i * step, items[i]);
  };
}

function readerOf(t: CType): Reader {
  if (t.kind === 'scalar') return scalarReader(t.bits);
  if (t.kind === 'struct') return t[codec].read;
  const one = readerOf(t.elem);
  const { length } = t;
  const step = t.elem.size;
  return (dv, off) => {
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = one(dv, off + i * step);
    return out;
  };
}

// Structs are built and read in one scratch area. A small typed array lives
// on the V8 heap, and reading its `.buffer` first moves its bytes off-heap:
// `new DataView(buf.buffer, ...)` per struct cost about 3 µs, most of a
// model KVM_SET_MEMORY_ATTRIBUTES (bench/figures/attributes.ts). The area
// grows to the largest struct used; encoders and decoders never nest, so
// one area serves all.
let scratch = new ArrayBuffer(256);
let scratchView = new DataView(scratch);
let scratchBytes = new Uint8Array(scratch);

function area(size: number): DataView {
  if (size > scratch.byteLength) {
    scratch = new ArrayBuffer(alignUp(size, 256));
    scratchView = new DataView(scratch);
    scratchBytes = new Uint8Array(scratch);
  }
  return scratchView;
}

/**
 * The struct's reader and writer as straight-line functions, one per
 * struct: the field names are known once the struct is declared, and a
 * loop over them instead (a keyed load and store per field, on objects of
 * every struct's shape) took about 1.5 times the CPU time of hand-written
 * DataView code to encode and decode a kvm_memory_attributes, the pair
 * every model KVM_SET_MEMORY_ATTRIBUTES makes (bench/figures/attributes.ts).
 * The names are checked to be identifiers, so the generated text is only
 * property accesses and calls of the field's own reader and writer.
 */
function compile(name: string, plan: readonly { key: string; off: number; read: Reader; write: Writer }[]): { read: Reader; write: Writer } {
  for (const f of plan) if (!/^[A-Za-z_$][\w$]*$/.test(f.key)) throw new Error(`struct ${name}: field name '${f.key}' is not an identifier`);
  const reads = plan.map((f) => f.read);
  const writes = plan.map((f) => f.write);
  const readBody = `return (dv, base) => ({ ${plan.map((f, i) => `${f.key}: r[${i}](dv, base + ${f.off})`).join(', ')} });`;
  const writeBody = `return (dv, base, o) => { let x; ${plan.map((f, i) => `x = o.${f.key}; if (x !== undefined) w[${i}](dv, base + ${f.off}, x);`).join(' ')} };`;
  return {
    read: (new Function('r', readBody) as (r: readonly Reader[]) => Reader)(reads),
    write: (new Function('w', writeBody) as (w: readonly Writer[]) => Writer)(writes),
  };
}

const codec: unique symbol = Symbol('codec');

/** A C struct: its layout, and the encoder and decoder that come from it. */
export interface Struct<F extends Fields = Fields> extends Layout {
  readonly kind: 'struct';
  /** The C tag, for messages (`kvm_userspace_memory_region2`). */
  readonly name: string;
  readonly fields: F;
  /** offsetof() of every field. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** A new buffer of `size` bytes holding `v`, zero where `v` is silent (padding included). */
  encode(v: StructInput<F>): Uint8Array;
  /** Write `v`'s fields (only those given) into `buf` at `offset`, as a struct placed there. */
  encodeInto(buf: Uint8Array, offset: number, v: StructInput<F>): void;
  /** The struct at `offset` of `buf`; bytes past the end of `buf` read as zero (a shorter, older version of the struct). */
  decode(buf: Uint8Array, offset?: number): StructValue<F>;
  /** @internal */
  readonly [codec]: { readonly read: Reader; readonly write: Writer };
}

/**
 * `struct name { fields }` with natural alignment. Field order is the
 * object's key order, which is declaration order for names that are not
 * array indices (every C identifier).
 */
export function struct<F extends Fields>(name: string, fields: F): Struct<F> {
  const keys = Object.keys(fields) as (keyof F & string)[];
  const offsets = {} as Record<keyof F, number>;
  const plan: { key: string; off: number; read: Reader; write: Writer }[] = [];
  let end = 0;
  let align = 1;
  for (const key of keys) {
    const t = fields[key]!;
    const off = alignUp(end, t.align);
    offsets[key] = off;
    plan.push({ key, off, read: readerOf(t), write: writerOf(t) });
    end = off + t.size;
    align = Math.max(align, t.align);
  }
  const size = alignUp(end, align);

  const { read, write } = compile(name, plan);

  return Object.freeze({
    kind: 'struct' as const,
    name,
    fields,
    offsets: Object.freeze(offsets),
    size,
    align,
    encode(v: StructInput<F>): Uint8Array {
      const dv = area(size);
      scratchBytes.fill(0, 0, size);
      write(dv, 0, v);
      return scratchBytes.slice(0, size);
    },
    encodeInto(buf: Uint8Array, offset: number, v: StructInput<F>): void {
      if (offset < 0 || offset + size > buf.byteLength) throw new RangeError(`struct ${name} (${size} bytes) at ${offset} does not fit in ${buf.byteLength} bytes`);
      write(new DataView(buf.buffer, buf.byteOffset + offset, size), 0, v);
    },
    decode(buf: Uint8Array, offset = 0): StructValue<F> {
      const dv = area(size);
      const have = Math.max(0, Math.min(size, buf.byteLength - offset));
      scratchBytes.set(offset === 0 && have === buf.byteLength ? buf : buf.subarray(offset, offset + have));
      if (have < size) scratchBytes.fill(0, have, size);
      return read(dv, 0) as StructValue<F>;
    },
    [codec]: { read, write },
  });
}

/** A DataView over exactly the bytes of `b` (which may be a window on a larger buffer). */
export const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The little-endian u64 at `off` of `b`. */
export const getU64 = (b: Uint8Array, off: number): bigint => viewOf(b).getBigUint64(off, true);
/** The little-endian u32 at `off` of `b`. */
export const getU32 = (b: Uint8Array, off: number): number => viewOf(b).getUint32(off, true);
/** Store `v` as a little-endian u64 at `off` of `b`, truncated as a C assignment would. */
export const putU64 = (b: Uint8Array, off: number, v: Num): void => viewOf(b).setBigUint64(off, BigInt(v), true);
/** Store `v` as a little-endian u32 at `off` of `b`, truncated as a C assignment would. */
export const putU32 = (b: Uint8Array, off: number, v: Num): void => viewOf(b).setUint32(off, typeof v === 'bigint' ? Number(BigInt.asUintN(32, v)) : v, true);
