import t from 'tap';
import { spawnSync } from 'node:child_process';
import { argValue, parseScript, safetyRefusal, ScriptError } from '../../../tools/kvm_probe/script.js';
import { prepareProbe } from '../../../tools/kvm_probe/real_runner.js';

t.test('parses names, integers, references with offsets and comments', async (t) => {
  const calls = parseScript('# header\nkvm = open_kvm\n\nvm = create_vm kvm 0   # default\ng = create_gmem vm 0x1000 -1\nm = mmap g 4096 0 3 1\npeek m+0x10\npoke m-1 010\n');
  t.same(calls.map((c) => [c.line, c.op, c.target ?? '']), [[2, 'open_kvm', 'kvm'], [4, 'create_vm', 'vm'], [5, 'create_gmem', 'g'], [6, 'mmap', 'm'], [7, 'peek', ''], [8, 'poke', '']]);
  t.equal(calls[2]!.text, 'create_gmem vm 0x1000 -1');
  const names = new Map([['m', 0x7000n]]);
  t.equal(argValue(calls[4]!.args[0]!, names), 0x7010n);
  t.equal(argValue(calls[5]!.args[0]!, names), 0x6fffn);
  t.equal(argValue(calls[5]!.args[1]!, names), 8n, 'a leading 0 is octal, as strtoull(base 0)');
  t.equal(argValue(calls[2]!.args[2]!, names), (1n << 64n) - 1n, '-1 is the all-ones u64');
});

const BAD: [string, RegExp][] = [
  ['frob 1', /line 1: unknown op 'frob'/],
  ['check_ext kvm 10', /line 1: unknown name 'kvm'/],
  ['kvm = open_kvm\ncheck_ext kvm', /line 2: check_ext takes 2 argument\(s\), got 1/],
  ['kvm = open_kvm\ncreate_gmem kvm 1', /line 2: create_gmem takes 3\.\.9 arguments, got 2/],
  ['kvm = open_kvm\ncheck_ext kvm 12x', /line 2: bad argument '12x'/],
  ['kvm = open_kvm\ncheck_ext kvm 09', /line 2: bad argument '09'/],
  ['kvm = open_kvm\ncheck_ext kvm 0x10000000000000000', /line 2: bad argument/],
  ['1x = open_kvm', /line 1: bad name '1x'/],
  ['x = ', /line 1: missing op/],
];

t.test('bad input is one error naming the line', async (t) => {
  for (const [text, re] of BAD) t.throws(() => parseScript(text), re, text.replace(/\n/g, ' | '));
  t.throws(() => parseScript('open_kvm'.padEnd(1100, ' ')), ScriptError);
});

const probe = prepareProbe();
t.test('the C probe rejects the same bad input with the same message (exit 2)', 'skip' in probe ? { skip: probe.skip } : {}, async (t) => {
  if ('skip' in probe) return;
  for (const [text, re] of BAD) {
    const r = spawnSync(probe.path, [], { input: `${text}\n`, encoding: 'utf8' });
    t.equal(r.status, 2, `exit 2: ${text.replace(/\n/g, ' | ')}`);
    t.match(r.stderr, re);
  }
});

t.test('safety limits: large I/O and large allocations inside i_size are refused, error paths are not', async (t) => {
  const size = (fd: number): bigint | undefined => (fd === 5 ? 1n << 40n : undefined);
  t.match(safetyRefusal('read', [5n, (1n << 20n) + 1n], size), /refused/);
  t.equal(safetyRefusal('read', [5n, 1n << 20n], size), undefined);
  t.match(safetyRefusal('fallocate', [5n, 1n, 0n, 1n << 30n], size), /refused/);
  t.equal(safetyRefusal('fallocate', [5n, 3n, 0n, 1n << 30n], size), undefined, 'punch');
  t.equal(safetyRefusal('fallocate', [5n, 1n, 0n, 1n << 41n], size), undefined, 'past i_size: EINVAL, allocates nothing');
  t.equal(safetyRefusal('fallocate', [6n, 1n, 0n, 1n << 30n], size), undefined, 'fstat fails: the kernel answers');
});
