/**
 * Byte-exact output and exit status of kselftest.h call sequences. Every
 * expected transcript below is what the C functions printed for the same
 * sequence (programs/calls.ts lists the calls).
 */
import t from 'tap';
import { bundle, runProgram, tempDir } from './support.js';

const expected: Record<string, { status: number; stdout: string }> = {
  header_plan: { status: 0, stdout: "TAP version 13\n1..3\n# Planned tests != run tests (3 != 0)\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  every_result: { status: 1, stdout: "TAP version 13\n1..7\nok 1 a\nnot ok 2 b 2\nok 3 # XFAIL c\nok 4 # XPASS d\nok 5 # SKIP e why\nnot ok 6 # error f\nnot ok 7 g\n# Totals: pass:1 fail:2 xfail:1 xpass:1 skip:1 error:1\n" },
  no_newline_added: { status: 0, stdout: "1..2\nok 1 xok 2 y\n# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  result_code: { status: 1, stdout: "1..8\nok 1 n1 #  \nok 2 n2\nnot ok 3 n3 #  why 3\nok 4 n4 # SKIP r\nok 5 n5 # XFAIL known\nok 6 n6 # XPASS \nnot ok 7 n7\nok 8 n8 # SKIP \n# Totals: pass:2 fail:2 xfail:1 xpass:1 skip:2 error:0\n" },
  result_report: { status: 1, stdout: "1..5\nok 1 rc 0\nnot ok 2 rc 1\nok 3 # XFAIL rc 2\nok 4 # XPASS rc 3\nok 5 # SKIP rc 4\n# Totals: pass:1 fail:1 xfail:1 xpass:1 skip:1 error:0\n" },
  messages: { status: 0, stdout: "# hello world,  99.2%\n# no newline# |ab    |    cd|00ff|010|18446744073709551615|\n# open: No such file or directory (2)\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  skip_before_plan: { status: 4, stdout: "TAP version 13\n1..0 # SKIP no kvm\n" },
  skip_after_plan: { status: 4, stdout: "TAP version 13\n1..2\nok 2 # SKIP later\n# Planned tests != run tests (2 != 1)\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n" },
  skip_after_result: { status: 4, stdout: "1..3\nok 1 a\nok 3 # SKIP rest\n# Planned tests != run tests (3 != 2)\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\n" },
  skip_null: { status: 4, stdout: "1..0 # SKIP " },
  bail_out: { status: 1, stdout: "1..2\nok 1 one\nBail out! boom 5\n# Planned tests != run tests (2 != 1)\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  bail_perror: { status: 1, stdout: "Bail out! mmap: Invalid argument (22)\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  exit_xfail: { status: 2, stdout: "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  exit_xpass: { status: 3, stdout: "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  exit_cond: { status: 1, stdout: "1..1\nok 1 fine\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n" },
  finished_all_pass: { status: 0, stdout: "1..3\nok 1 p\nok 2 # XFAIL x\nok 3 # SKIP s\n# Totals: pass:1 fail:0 xfail:1 xpass:0 skip:1 error:0\n" },
};

const { dir, remove } = tempDir('ksft-calls-');
t.teardown(remove);
const program = await bundle('test/lib/kselftest/programs/calls.ts', dir);

for (const [name, want] of Object.entries(expected)) {
  t.test(name, async (t) => {
    const r = runProgram(program, [name]);
    t.equal(r.stdout, want.stdout, 'stdout bytes');
    t.equal(r.status, want.status, 'exit status');
    t.equal(r.stderr, '', 'nothing on stderr');
  });
}

t.test('KSFT_TAP_LEVEL suppresses the TAP version line', async (t) => {
  const r = runProgram(program, ['header_plan'], { KSFT_TAP_LEVEL: '1' });
  t.equal(r.stdout, expected.header_plan?.stdout.replace('TAP version 13\n', ''));
  t.equal(r.status, 0);
});

t.test('output is complete and ordered through a pipe read late', async (t) => {
  // process.exit() right after many writes: synchronous writes lose nothing.
  const r = runProgram(program, ['every_result']);
  t.equal(r.stdout.split('\n').filter((l) => /^(not )?ok /.test(l)).length, 7);
});
