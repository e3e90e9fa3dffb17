// getopt(3) as glibc parses short options for the C selftests' loops.
import t from 'tap';
import { getopt } from '../../../lib/libc/getopt.js';

t.test('attached and separate arguments, grouped flags, operands anywhere, --', async (t) => {
  t.same(getopt(['-n2', '-m', '3', 'extra', '-hv', '--', '-s', 'x'], 'hvm:s:n:', 'prog'), {
    ok: true,
    options: [{ opt: 'n', arg: '2' }, { opt: 'm', arg: '3' }, { opt: 'h' }, { opt: 'v' }],
    operands: ['extra', '-s', 'x'],
  });
  t.same(getopt(['-vs', 'shmem'], 'vs:', 'prog'), { ok: true, options: [{ opt: 'v' }, { opt: 's', arg: 'shmem' }], operands: [] }, 'an argument after a group');
  t.same(getopt(['-', 'a'], 'h', 'prog'), { ok: true, options: [], operands: ['-', 'a'] }, 'a lone - is an operand');
});

t.test("the first bad option stops the scan with glibc's message", async (t) => {
  t.same(getopt(['-h', '-x', '-n', '1'], 'hn:', 'prog'), { ok: false, options: [{ opt: 'h' }], error: "prog: invalid option -- 'x'\n" });
  t.same(getopt(['-n'], 'hn:', 'prog'), { ok: false, options: [], error: "prog: option requires an argument -- 'n'\n" });
  t.same(getopt(['-:'], 'n:', 'prog'), { ok: false, options: [], error: "prog: invalid option -- ':'\n" }, "':' is never an option");
});
