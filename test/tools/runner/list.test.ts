import t from 'tap';
import { groupByCollection, ListError, NoSuchError, parseList, selectEntries } from '../../../tools/runner/list.js';

const text = 'kvm:a\nkvm:b\n\nnet/forwarding:c\ncoco/tdx:d\n';

t.test('parseList', async (t) => {
  t.same(parseList(text, 'L'), [
    { collection: 'kvm', test: 'a' },
    { collection: 'kvm', test: 'b' },
    { collection: 'net/forwarding', test: 'c' },
    { collection: 'coco/tdx', test: 'd' },
  ]);
  t.throws(() => parseList('kvm:a\nkvm\n', 'L'), new ListError("L:2: malformed entry 'kvm': expected COLLECTION:TEST"));
  t.throws(() => parseList('kvm:x/y\n', 'L'), new ListError("L:1: malformed entry 'kvm:x/y': expected COLLECTION:TEST"), 'the test part is a file name');
});

t.test('selectEntries', async (t) => {
  const all = parseList(text, 'L');
  const names = (s: Parameters<typeof selectEntries>[1]) => selectEntries(all, s).map((e) => `${e.collection}:${e.test}`);
  t.same(names({ tests: [], collections: [], skip: [] }), ['kvm:a', 'kvm:b', 'net/forwarding:c', 'coco/tdx:d']);
  t.same(names({ tests: ['coco/tdx:d'], collections: ['kvm'], skip: [] }), ['coco/tdx:d', 'kvm:a', 'kvm:b']);
  t.same(names({ tests: ['kvm:a'], collections: ['kvm'], skip: [] }), ['kvm:a', 'kvm:b'], 'no test twice');
  t.same(names({ tests: [], collections: [], skip: ['kvm:b'] }), ['kvm:a', 'net/forwarding:c', 'coco/tdx:d']);
  t.throws(() => names({ tests: ['kvm:z'], collections: [], skip: [] }), new NoSuchError("No such test 'kvm:z'"));
  t.throws(() => names({ tests: [], collections: ['net'], skip: [] }), new NoSuchError("No such collection 'net'"));
  t.throws(() => names({ tests: [], collections: [], skip: ['x:y'] }), new NoSuchError("No such test 'x:y'"));
});

t.test('groupByCollection sorts collections, keeps test order', async (t) => {
  const g = groupByCollection(parseList('zz:b\nzz:a\naa:c\ncoco/tdx:d\n', 'L'));
  t.same(g, [['aa', ['c']], ['coco/tdx', ['d']], ['zz', ['b', 'a']]]);
});
