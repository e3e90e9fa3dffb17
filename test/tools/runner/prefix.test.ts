import t from 'tap';
import { LinePrefixer } from '../../../tools/runner/prefix.js';

const run = (chunks: string[]): string => {
  const p = new LinePrefixer();
  return chunks.map((c) => p.push(Buffer.from(c)).toString()).join('') + p.end().toString();
};

t.test('every line gets "# ", whatever the chunking', async (t) => {
  t.equal(run(['a\nb\n']), '# a\n# b\n');
  t.equal(run(['a', '\n', 'b', 'c\n']), '# a\n# bc\n');
  t.equal(run(['\n\n']), '# \n# \n', 'empty lines too (prefix.pl prints "# " before the newline)');
  t.equal(run(['a\nb']), '# a\n# b\n', 'an unfinished last line is prefixed and terminated');
  t.equal(run([]), '');
  t.equal(run(['']), '');
});

t.test('bytes pass through untouched', async (t) => {
  const p = new LinePrefixer();
  const bin = Buffer.from([0xff, 0x00, 0x0a, 0xc3]);
  t.same([...p.push(bin)], [0x23, 0x20, 0xff, 0x00, 0x0a, 0x23, 0x20, 0xc3]);
  t.same([...p.end()], [0x0a]);
});
