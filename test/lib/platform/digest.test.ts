import t from 'tap';
import { createHash } from 'node:crypto';
import { ExtendRegister, StreamMeasure, le64, sha, tag, toHex } from '../../../lib/platform/digest.js';

t.test('ExtendRegister is H(prev || data)', async (t) => {
  const r = new ExtendRegister('sha384');
  r.extend(new Uint8Array([1, 2]));
  const want = createHash('sha384').update(new Uint8Array(48)).update(new Uint8Array([1, 2])).digest('hex');
  t.equal(toHex(r.digest), want);
});

t.test('StreamMeasure peeks without finalising, then refuses updates', async (t) => {
  const m = new StreamMeasure('sha256');
  m.update(new Uint8Array([9]));
  t.equal(toHex(m.peek()), toHex(sha('sha256', new Uint8Array([9]))));
  m.finalise();
  t.throws(() => m.update(new Uint8Array([1])));
});

t.test('helpers', async (t) => {
  t.same([...le64(0x0102n)], [2, 1, 0, 0, 0, 0, 0, 0]);
  t.equal(tag('AB', 4).length, 4);
  t.same([...tag('AB', 4)], [65, 66, 0, 0]);
});
