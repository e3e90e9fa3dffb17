// Listing a new program in a collection Makefile (tools/new_test/makefile_edit.ts).
import t from 'tap';
import { addToTestGenProgs } from '../../../tools/new_test/makefile_edit.js';

t.test('appended to the first TEST_GEN_PROGS assignment', async (t) => {
  t.equal(addToTestGenProgs('# c\nTEST_GEN_PROGS := a b\n\ninclude ../lib.mk\n', 'foo_test'),
    '# c\nTEST_GEN_PROGS := a b foo_test\n\ninclude ../lib.mk\n');
  t.equal(addToTestGenProgs('TEST_GEN_PROGS += a\nTEST_GEN_PROGS += b\n', 'x'), 'TEST_GEN_PROGS += a x\nTEST_GEN_PROGS += b\n');
  t.equal(addToTestGenProgs('TEST_GEN_PROGS = a\n', 'x'), 'TEST_GEN_PROGS = a x\n');
});

t.test('continuation lines and trailing comments', async (t) => {
  t.equal(addToTestGenProgs('TEST_GEN_PROGS := a \\\n\tb\ninclude x/lib.mk\n', 'x'), 'TEST_GEN_PROGS := a \\\n\tb x\ninclude x/lib.mk\n');
  t.equal(addToTestGenProgs('TEST_GEN_PROGS := a   # the a test\n', 'x'), 'TEST_GEN_PROGS := a x # the a test\n');
  t.equal(addToTestGenProgs('TEST_GEN_PROGS := a\\#b\n', 'x'), 'TEST_GEN_PROGS := a\\#b x\n', 'an escaped # is no comment');
  t.equal(addToTestGenProgs('TEST_GEN_PROGS :=\n', 'x'), 'TEST_GEN_PROGS := x\n');
});

t.test('no TEST_GEN_PROGS yet: a new line before lib.mk is included', async (t) => {
  t.equal(addToTestGenProgs('TEST_PROGS := s.sh\ninclude ../../tools/build/lib.mk\n', 'x'),
    'TEST_PROGS := s.sh\nTEST_GEN_PROGS := x\n\ninclude ../../tools/build/lib.mk\n');
  t.equal(addToTestGenProgs('TEST_PROGS := s.sh', 'x'), 'TEST_PROGS := s.sh\nTEST_GEN_PROGS := x\n');
});
