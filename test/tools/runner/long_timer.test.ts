import t from 'tap';
import { MAX_TIMER_MS, setLongTimeout } from '../../../tools/runner/long_timer.js';

t.test('a delay beyond setTimeout()\'s 32-bit range does not fire early', async (t) => {
  let fired = 0;
  const timers = [MAX_TIMER_MS + 1, 2 ** 32, 3_000_000 * 1000].map((ms) => setLongTimeout(() => { fired++; }, ms));
  await new Promise((r) => setTimeout(r, 100));
  for (const x of timers) x.clear();
  t.equal(fired, 0, 'none fired within 100 ms');
});

t.test('a short delay fires once; clear() stops it', async (t) => {
  let fired = 0;
  setLongTimeout(() => { fired++; }, 10);
  const cleared = setLongTimeout(() => { fired += 100; }, 10);
  cleared.clear();
  await new Promise((r) => setTimeout(r, 60));
  t.equal(fired, 1);
});
