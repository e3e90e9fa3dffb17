/**
 * SEV memory encryption, as far as a test can observe it: a per-VM key
 * (the VEK the firmware generates at LAUNCH_START) and an address tweak, so
 * that the same plaintext reads back as different ciphertext at another
 * host address and a line written without the key decrypts to garbage
 * (reference/platforms.md §2.2 c, e: "the encryption tweak depends on the
 * physical address" [H]).
 *
 * Real parts use an XEX-style block mode per 16-byte line. The model uses
 * AES-128-CTR with the host address as the counter: deterministic per key
 * and address, and byte-granular, so a partial guest store or a partial host
 * write composes with what is already there. The observable outcomes the
 * scenarios need — ciphertext to the host, garbage to the wrong view, no
 * fault — are the same.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

export class SevCipher {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError(`SEV key must be 16 bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  /** A key derived from a seed, for reproducible runs. */
  static fromSeed(seed: string): SevCipher {
    return new SevCipher(createHash('sha256').update(`sev-vek:${seed}`).digest().subarray(0, 16));
  }

  static random(): SevCipher {
    return new SevCipher(randomBytes(16));
  }

  /** The keystream for [addr, addr+len): AES-CTR with the 16-byte block index of `addr` as IV. */
  private keystream(addr: bigint, len: number): Uint8Array {
    const start = addr & ~15n;
    const skip = Number(addr - start);
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(BigInt.asUintN(64, start >> 4n), 8);
    const c = createCipheriv('aes-128-ctr', this.key, iv);
    const ks = c.update(Buffer.alloc(skip + len));
    return new Uint8Array(ks.buffer, ks.byteOffset + skip, len);
  }

  /** Encrypt `plain` as stored at host address `addr`. */
  encrypt(addr: bigint, plain: Uint8Array): Uint8Array {
    const ks = this.keystream(addr, plain.length);
    const out = new Uint8Array(plain.length);
    for (let i = 0; i < plain.length; i++) out[i] = plain[i]! ^ ks[i]!;
    return out;
  }

  /** Decrypt bytes stored at `addr` (CTR is its own inverse). */
  decrypt(addr: bigint, stored: Uint8Array): Uint8Array {
    return this.encrypt(addr, stored);
  }
}
