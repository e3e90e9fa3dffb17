// tools/vm/port.ts: the end marker is cut from the stream wherever the chunks
// split it, and nothing else is lost or held back at the end.
import t from 'tap';
import { MarkerSplitter, partialMarkerAt } from '../../../tools/vm/port.js';

const MARKER = Buffer.from('ksft-vm-end-0123');

function feed(chunks: string[]): { out: string; at: number } {
  const s = new MarkerSplitter(MARKER);
  let out = '';
  let at = -1;
  chunks.forEach((c, i) => {
    const r = s.push(Buffer.from(c));
    out += r.out.toString();
    if (r.marker) at = i;
  });
  return { out: out + s.flush().toString(), at };
}

t.test('partialMarkerAt', async (t) => {
  t.equal(partialMarkerAt(Buffer.from('abc ksft-vm'), MARKER), 7);
  t.equal(partialMarkerAt(Buffer.from('abc k'), MARKER), 1);
  t.equal(partialMarkerAt(Buffer.from('abc'), MARKER), 0);
  t.equal(partialMarkerAt(Buffer.from('ksft-vm-end-0123'), MARKER), 0, 'a whole marker is not a partial one');
});

t.test('every split of output + marker', async (t) => {
  const whole = 'ok 1 x\n1..1\nksft-vm-end-0123';
  for (let i = 0; i <= whole.length; i++) {
    for (const j of [i, Math.min(whole.length, i + 3)]) {
      const r = feed([whole.slice(0, i), whole.slice(i, j), whole.slice(j)]);
      if (r.out !== 'ok 1 x\n1..1\n' || r.at < 0) {
        t.fail(`split at ${i},${j}: ${JSON.stringify(r)}`);
        return;
      }
    }
  }
  t.pass('the marker is always found and cut');
});

t.test('look-alikes and the end of the stream', async (t) => {
  t.same(feed(['abc ksft-vm', '-end-01', '99 more']), { out: 'abc ksft-vm-end-0199 more', at: -1 });
  t.same(feed(['tail ksft-vm-e']), { out: 'tail ksft-vm-e', at: -1 }, 'a held-back prefix comes out at the end');
  t.same(feed(['x', 'ksft-vm-end-0123', 'late']), { out: 'xlate', at: 1 }, 'bytes after the marker are still output');
  t.same(feed(['kksft-vm-end-0123']), { out: 'k', at: 0 });
});
