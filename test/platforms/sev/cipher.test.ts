import t from 'tap';
import { SevCipher } from '../../../platforms/sev/cipher.js';

const plain = new Uint8Array(4096).map((_, i) => i & 0xff);

t.test('decrypt(encrypt(x)) at the same address is x', async (t) => {
  const c = SevCipher.fromSeed('a');
  t.same(c.decrypt(0x1000n, c.encrypt(0x1000n, plain)), plain);
});

t.test('deterministic per key, different per key and per address', async (t) => {
  const a1 = SevCipher.fromSeed('a').encrypt(0x1000n, plain);
  const a2 = SevCipher.fromSeed('a').encrypt(0x1000n, plain);
  const b = SevCipher.fromSeed('b').encrypt(0x1000n, plain);
  const moved = SevCipher.fromSeed('a').encrypt(0x2000n, plain);
  t.same(a1, a2);
  t.notSame(a1, b);
  t.notSame(a1, moved);
  t.notSame(a1, plain);
});

t.test('partial accesses compose with whole-page ones (the tweak is the address)', async (t) => {
  const c = SevCipher.fromSeed('p');
  const whole = c.encrypt(0x5000n, plain);
  const part = c.encrypt(0x5000n + 37n, plain.subarray(37, 100));
  t.same(part, whole.subarray(37, 100));
});

t.test('bytes written without the key decrypt to garbage', async (t) => {
  const c = SevCipher.fromSeed('g');
  const host = new Uint8Array(64).fill(0x77);
  t.notSame(c.decrypt(0x9000n, host), host);
  t.throws(() => new SevCipher(new Uint8Array(8)), RangeError);
});
