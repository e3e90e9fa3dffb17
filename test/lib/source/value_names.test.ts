/** Named values in failures (lib/source/value_names.ts): the kind comes from either operand's text. */
import t from 'tap';
import { errnoKind, namePair, registerValueKind } from '../../../lib/source/value_names.js';

t.test('errno: named when either side reads as an errno', async (t) => {
  t.same(namePair('r.errno', 22, 'EFAULT', 14), { a: 'EINVAL (22)', b: 'EFAULT (14)', notes: [] });
  t.same(namePair('EFAULT', 14, 'getErrno()', 22), { a: 'EFAULT (14)', b: 'EINVAL (22)', notes: [] });
  t.same(namePair('r.ret', -22, '-EINVAL', -14), { a: '-EINVAL (-22)', b: '-EFAULT (-14)', notes: [] });
  t.same(namePair('errno', 0, 'EIO', 5), { a: '0', b: 'EIO (5)', notes: [] }, '0 has no name');
  t.same(namePair('r.errno', 9999, 'EIO', 5), { a: '9999', b: 'EIO (5)', notes: [] }, 'an unknown number stays a number');
});

t.test('no kind: undefined, and the caller prints numbers as before', async (t) => {
  t.equal(namePair('npages', 22, 'size', 14), undefined);
  t.equal(namePair('ENOTANERRNO', 22, 'x', 14), undefined, 'an E-word that is no errno is no hint');
  t.equal(namePair('r.errno', 'x', 'EIO', 5), undefined, 'only integers are named');
  t.equal(namePair(undefined, 22, undefined, 14), undefined);
});

t.test('a registered kind is tried before errno and may add a note', async (t) => {
  registerValueKind({ matches: (s) => s.includes('colour'), name: (v) => (v === 1n ? 'RED' : undefined), note: (v) => (v === 1n ? 'red is 1' : undefined) });
  t.same(namePair('colour', 1, 'BLUE', 2), { a: 'RED (1)', b: '2', notes: ['red is 1'] });
  t.ok(errnoKind.matches('r.errno') && !errnoKind.matches('colour'));
});
