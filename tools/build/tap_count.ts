// Counts the leaf results of a TAP stream with subtests (node-tap's output:
// one subtest per test file, nested subtests per t.test()). A subtest's
// closing point is not counted itself, unless it failed with no failing
// leaf inside (a crashed file, a timeout, a plan mismatch), so a failure can
// never disappear from the count.
import { Parser, type Result } from 'tap-parser';

export interface Counts {
  pass: number;
  fail: number;
  skip: number;
}

export function countParser(p: Parser): Counts {
  const counts: Counts = { pass: 0, fail: 0, skip: 0 };
  let open: Counts | undefined;
  p.on('child', (child: Parser) => {
    open = countParser(child);
  });
  p.on('assert', (res: Result) => {
    if (open) {
      const c = open;
      open = undefined;
      counts.pass += c.pass;
      counts.skip += c.skip;
      counts.fail += c.fail;
      if (!res.ok && !res.todo && c.fail === 0) counts.fail += 1;
      if (res.skip && c.pass + c.fail + c.skip === 0) counts.skip += 1;
      return;
    }
    if (res.skip || res.todo) counts.skip += 1;
    else if (res.ok) counts.pass += 1;
    else counts.fail += 1;
  });
  return counts;
}

export function summaryLine(c: Counts): string {
  return `${c.pass} passed, ${c.fail} failed${c.skip > 0 ? `, ${c.skip} skipped` : ''}`;
}
