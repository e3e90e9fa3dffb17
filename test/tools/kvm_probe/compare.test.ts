import t from 'tap';
import { formatTable, judge, pairResults, type HostSpecific, type Row } from '../../../tools/kvm_probe/compare.js';
import { normalize } from '../../../tools/kvm_probe/result.js';
import { parseScript } from '../../../tools/kvm_probe/script.js';

t.test('normal form: fds, mappings, errno names, inode order, pre-fault ranges, signals', async (t) => {
  const calls = parseScript('kvm = open_kvm\nfstat kvm\nfstat kvm\nm = mmap_anon 4096\nc = create_vm kvm 9\npre_fault kvm 0 4096 0\npeek m\ncheck_ext kvm 10\n');
  const inodes = new Map<string, number>();
  t.equal(normalize(calls[0]!, { line: 1, op: 'open_kvm', ret: 7, errno: 0 }, inodes), 'fd');
  t.equal(normalize(calls[1]!, { line: 2, op: 'fstat', ret: 0, errno: 0, size: '0', blksize: 4096, mode: 0o20600, ino: '991' }, inodes), '0 size=0 blksize=4096 mode=020600 ino#0');
  t.equal(normalize(calls[2]!, { line: 3, op: 'fstat', ret: 0, errno: 0, size: '0', blksize: 4096, mode: 0o20600, ino: '992' }, inodes), '0 size=0 blksize=4096 mode=020600 ino#1');
  t.equal(normalize(calls[3]!, { line: 4, op: 'mmap_anon', ret: 0, errno: 0 }, inodes), 'ok');
  t.equal(normalize(calls[4]!, { line: 5, op: 'create_vm', ret: -1, errno: 22 }, inodes), '-1 EINVAL');
  t.equal(normalize(calls[5]!, { line: 6, op: 'pre_fault', ret: -1, errno: 95, gpa: '4096', size: '0' }, inodes), '-1 EOPNOTSUPP gpa=0x1000 size=0x0');
  t.equal(normalize(calls[6]!, { line: 7, op: 'peek', ret: -1, errno: 0, signal: 'SIGBUS' }, inodes), 'SIGBUS');
  t.equal(normalize(calls[7]!, { line: 8, op: 'check_ext', ret: 32764, errno: 0 }, inodes), '32764');
});

t.test('pairing refuses results that do not belong to the calls', async (t) => {
  const calls = parseScript('kvm = open_kvm\n');
  t.throws(() => pairResults('c', calls, [], [{ line: 1, op: 'open_kvm', ret: 3, errno: 0 }]), /1 calls but 0 real/);
  t.throws(() => pairResults('c', calls, [{ line: 2, op: 'open_kvm', ret: 3, errno: 0 }], [{ line: 1, op: 'open_kvm', ret: 3, errno: 0 }]), /expected line 1/);
});

const row = (call: string, real: string, model: string, caseName = 'c'): Row => ({ caseName, line: 1, call, real, model });

t.test('judge: equal rows pass; differences need an exact entry; changed and stale entries are reported', async (t) => {
  const table: HostSpecific[] = [
    { host: 'pvm', caseName: 'c', call: 'a', real: '0', model: '1', why: 'x' },
    { host: 'pvm', caseName: 'c', call: /^b /, real: '-1 ENOTTY', model: '0', why: 'y' },
    { host: 'pvm', caseName: 'c', call: 'gone', real: '0', model: '1', why: 'z' },
    { host: 'amd', caseName: 'c', call: 'd', real: '0', model: '1', why: 'other host' },
  ];
  const v = judge([
    row('a', '0', '1'), row('b 1', '-1 ENOTTY', '0'), row('b 2', '-1 ENOTTY', '-1 EINVAL'), row('d', '0', '1'), row('e', '3', '3'),
  ], table, 'pvm', new Set(['c']));
  t.equal(v.disagreements.length, 4);
  t.same(v.unexplained.map((r) => r.call), ['d'], 'entries of other hosts do not apply');
  t.same(v.changed.map((c) => c.row.call), ['b 2'], 'a matching entry with another pair is a change');
  t.same(v.stale.map((e) => e.call), ['gone']);
  const agreeNow = judge([row('a', '1', '1')], table, 'pvm', new Set(['c']));
  t.same(agreeNow.changed.map((c) => c.row.call), ['a'], 'an entry whose sides now agree is a change too');
  t.same(judge([row('a', '0', '1')], table, 'pvm', new Set(['other'])).unexplained.length, 1, 'entries apply to their case only');
});

t.test('table lists every row with a header', async (t) => {
  t.equal(formatTable([]), '(no disagreements)');
  const s = formatTable([row('check_ext kvm 235', '1', '63')], () => 'host-specific').split('\n');
  t.match(s[0]!, /^case\s+line\s+call\s+real \/dev\/kvm\s+model\s+note$/);
  t.match(s[2]!, /check_ext kvm 235\s+1\s+63\s+host-specific/);
});
