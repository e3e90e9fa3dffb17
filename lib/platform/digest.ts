/**
 * Launch measurement digests with node:crypto. Every platform measures the
 * same way in principle — a running hash that each launch step extends — and
 * differs in what a step feeds it (reference/platforms.md §2 d): SEV's launch
 * digest over encrypted plaintext, SNP's PAGE_INFO chain, TDX's MRTD over
 * PAGE.ADD and MR.EXTEND records, CCA's RIM over DATA_CREATE descriptors.
 */
import { createHash, createHmac, type Hash } from 'node:crypto';

export type DigestAlg = 'sha256' | 'sha384';

export const DIGEST_SIZE: Readonly<Record<DigestAlg, number>> = { sha256: 32, sha384: 48 };

/** A register extended as `r = H(r || data)` (SNP launch digest, CCA RIM, TPM-style PCRs). */
export class ExtendRegister {
  private value: Uint8Array;

  constructor(readonly alg: DigestAlg, initial?: Uint8Array) {
    this.value = initial ? Uint8Array.from(initial) : new Uint8Array(DIGEST_SIZE[alg]);
  }

  extend(...parts: readonly Uint8Array[]): void {
    const h = createHash(this.alg).update(this.value);
    for (const p of parts) h.update(p);
    this.value = new Uint8Array(h.digest());
  }

  get digest(): Uint8Array {
    return Uint8Array.from(this.value);
  }
}

/** A running hash over a byte stream (TDX MRTD: one SHA-384 over all records until finalise). */
export class StreamMeasure {
  private readonly h: Hash;
  private final: Uint8Array | undefined;

  constructor(readonly alg: DigestAlg) {
    this.h = createHash(alg);
  }

  update(data: Uint8Array): void {
    if (this.final) throw new Error('measurement already finalised');
    this.h.update(data);
  }

  /** The value so far, without finalising. */
  peek(): Uint8Array {
    return this.final ?? new Uint8Array(this.h.copy().digest());
  }

  finalise(): Uint8Array {
    if (!this.final) this.final = new Uint8Array(this.h.digest());
    return this.final;
  }

  get finalised(): boolean {
    return this.final !== undefined;
  }
}

export function sha(alg: DigestAlg, ...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha256(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Little-endian u64 bytes, as firmware structures lay them out. */
export function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

/** An ASCII tag padded with zeros to `len` bytes (TDX MR records start with one). */
export function tag(text: string, len: number): Uint8Array {
  const b = new Uint8Array(len);
  b.set(new TextEncoder().encode(text).subarray(0, len));
  return b;
}
