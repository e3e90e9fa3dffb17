// -j N (schedule.ts, job_output.ts): the stream equals the serial run's;
// serial tests and tests sharing a resource never overlap.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeTree, runRunner, tmpFile } from './helpers.js';

const mixed = () => makeTree({
  collections: {
    alpha: { a1: { fixture: 'span.sh' }, a2: { fixture: 'pass.sh' }, a3: { fixture: 'fail.sh' }, a4: { fixture: 'span.sh' } },
    beta: { b1: { fixture: 'skip.sh' }, b2: { fixture: 'span.sh' }, b3: { fixture: 'interleave.sh' } },
    'coco/tdx': { t1: { fixture: 'span.sh' }, t2: { fixture: 'partial.sh' } },
  },
});

interface Span { name: string; start: bigint; end: bigint }
function spans(file: string): Span[] {
  const m = new Map<string, Span>();
  for (const l of readFileSync(file, 'utf8').trim().split('\n')) {
    const [what, name, ns] = l.split(' ') as [string, string, string];
    const s = m.get(name) ?? { name, start: 0n, end: 0n };
    s[what as 'start' | 'end'] = BigInt(ns);
    m.set(name, s);
  }
  return [...m.values()];
}
const overlap = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

t.test('-j 2 and -j 4 print exactly the serial stream; tests do overlap', async (t) => {
  const tree = mixed();
  const log = tmpFile('spans');
  const serial = await runRunner(tree, [], { env: { KSFT_SPAN_LOG: log } });
  writeFileSync(log, '');
  const j2 = await runRunner(tree, ['-j', '2'], { env: { KSFT_SPAN_LOG: log } });
  const s = spans(log);
  writeFileSync(log, '');
  const j4 = await runRunner(tree, ['--jobs=4'], { env: { KSFT_SPAN_LOG: log } });
  t.equal(j2.stdout, serial.stdout, '-j 2');
  t.equal(j4.stdout, serial.stdout, '-j 4');
  t.same([j2.code, j4.code], [serial.code, serial.code]);
  t.ok(s.some((a) => s.some((b) => a !== b && overlap(a, b))), 'some tests ran at the same time');
  t.ok(j4.ms < serial.ms, `-j 4 ${j4.ms} ms < serial ${serial.ms} ms`);
});

t.test('serial and resources from settings: never co-scheduled', async (t) => {
  const tree = makeTree({
    collections: {
      alone: { s1: { fixture: 'span.sh' }, s2: { fixture: 'span.sh' } },
      gpu: { g1: { fixture: 'span.sh' }, g2: { fixture: 'span.sh' }, g3: { fixture: 'span.sh' } },
      free: { f1: { fixture: 'span.sh' }, f2: { fixture: 'span.sh' }, f3: { fixture: 'span.sh' } },
    },
    settings: { alone: 'serial=1\n', gpu: 'resources=sev_asid\nresources_g3=hugetlb\n', free: 'resources_f3=hugetlb\n' },
  });
  const log = tmpFile('spans');
  const serial = await runRunner(tree, [], { env: { KSFT_SPAN_LOG: tmpFile('spans-serial') } });
  const r = await runRunner(tree, ['-j', '4'], { env: { KSFT_SPAN_LOG: log } });
  t.equal(r.stdout, serial.stdout);
  const s = new Map(spans(log).map((x) => [x.name, x]));
  for (const name of ['s1', 's2']) {
    for (const other of s.values()) if (other.name !== name) t.notOk(overlap(s.get(name)!, other), `${name} ran alone (vs ${other.name})`);
  }
  t.notOk(overlap(s.get('g1')!, s.get('g2')!), 'g1/g2 share sev_asid');
  t.notOk(overlap(s.get('g2')!, s.get('g3')!), 'g2/g3 share sev_asid');
  t.notOk(overlap(s.get('g3')!, s.get('f3')!), 'g3/f3 share hugetlb');
  t.ok(overlap(s.get('f1')!, s.get('f2')!) || overlap(s.get('f1')!, s.get('g1')!) || overlap(s.get('f2')!, s.get('g2')!), 'unconstrained tests still run in parallel');
  const bad = makeTree({ collections: { x: { a: { fixture: 'pass.sh' } } }, settings: { x: 'serial=yes\n' } });
  const b = await runRunner(bad, ['-j', '2']);
  t.equal(b.code, 1);
  t.equal(b.stderr, `run_kselftest.sh: ${join(bad.base, 'x/settings')}:1: invalid serial 'yes': expected 1 or 0\n`);
});

t.test('-j: a timeout among parallel tests keeps its place and its lines', async (t) => {
  const tree = makeTree({ collections: { kvm: { a: { fixture: 'pass.sh' }, h: { fixture: 'hang.sh' }, b: { fixture: 'span.sh' }, c: { fixture: 'pass.sh' } } } });
  const bad = await runRunner(tree, ['-j', '0']);
  t.equal(bad.stderr, "run_kselftest.sh: invalid value '0' for option -j/--jobs: expected a whole number of parallel tests from 1 to 1024\n");
  const env = { KSFT_FIXTURE_PIDS: tmpFile('pids'), KSFT_SPAN_LOG: tmpFile('spans') };
  const serial = await runRunner(tree, ['-o', '1'], { env });
  const r = await runRunner(tree, ['-j', '3', '-o', '1'], { env });
  t.equal(r.stdout, serial.stdout);
  t.match(r.stdout, /^#\nnot ok 2 selftests: kvm: h # TIMEOUT 1 seconds\n# overriding timeout to 1\n# selftests: kvm: b\n# b done\nok 3 selftests: kvm: b\n/m);
});
