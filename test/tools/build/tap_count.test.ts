// The `N passed, N failed[, N skipped]` line of `make check`.
import t from 'tap';
import { Parser } from 'tap-parser';
import { countParser, summaryLine, type Counts } from '../../../tools/build/tap_count.js';

function count(tap: string): Promise<Counts> {
  return new Promise((res) => {
    const p = new Parser();
    const c = countParser(p);
    p.on('complete', () => res(c));
    p.end(tap);
  });
}

const nested = `TAP version 14
1..3
# Subtest: test/a.test.ts
    # Subtest: group
        ok 1 - one
        ok 2 - two
        ok 3 - later # SKIP not today
        not ok 4 - broken
        1..4
    not ok 1 - group
    ok 2 - top level assert
    1..2
not ok 1 - test/a.test.ts
# Subtest: test/crash.test.ts
    ok 1 - fine before the crash
    1..2
not ok 2 - test/crash.test.ts # exit code 1
ok 3 - test/empty.test.ts # SKIP no tests
`;

t.test('leaves are counted; a failed file with no failing leaf still counts once', async (t) => {
  const c = await count(nested);
  t.same(c, { pass: 4, fail: 2, skip: 2 });
  t.equal(summaryLine(c), '4 passed, 2 failed, 2 skipped');
});

t.test('no skip part when nothing was skipped', async (t) => {
  const c = await count('TAP version 14\n1..2\nok 1 - a\nok 2 - b\n');
  t.equal(summaryLine(c), '2 passed, 0 failed');
});
