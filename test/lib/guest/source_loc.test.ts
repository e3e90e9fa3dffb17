import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { callArgumentTexts, callerLoc, displayPath, parseStack } from '../../../lib/guest/source_loc.js';

const SELF = fileURLToPath(import.meta.url);

t.test('parseStack reads V8 frames, with and without a function name, and drops node internals', async (t) => {
  const frames = parseStack('Error\n    at foo (/a/b/c.ts:12:5)\n    at /a/b/d.ts:3:1\n    at node:internal/x:1:1\n    at async bar (file:///a/e.ts:7:2)');
  t.same(frames, [
    { func: 'foo', file: '/a/b/c.ts', line: 12, column: 5 },
    { func: '<anonymous>', file: '/a/b/d.ts', line: 3, column: 1 },
    { func: 'bar', file: '/a/e.ts', line: 7, column: 2 },
  ]);
});

t.test('callerLoc names this test file (outside the library), relative to the project root', async (t) => {
  const loc = callerLoc();
  t.equal(loc.file, 'test/lib/guest/source_loc.test.ts');
  t.equal(displayPath(SELF), 'test/lib/guest/source_loc.test.ts');
});

t.test('callArgumentTexts gives the #arg texts of a call, across lines and nested parens/strings', async (t) => {
  const example = `
TEST_ASSERT(fd >= 0 && f(a, (b)), 'msg, with comma')
`;
  void example;
  const line = readFileSync(SELF, 'utf8').split('\n').findIndex((l) => l.startsWith('TEST_ASSERT(fd')) + 1;
  const texts = callArgumentTexts(SELF, line, 'TEST_ASSERT');
  t.same(texts, ['fd >= 0 && f(a, (b))', "'msg, with comma'"]);
  t.equal(callArgumentTexts(SELF, line, 'NOT_THERE'), undefined);
  t.equal(callArgumentTexts('/nonexistent.ts', 1, 'x'), undefined);
});
