// Help text. The option letters and meanings follow run_kselftest.sh; the
// exit-status paragraph documents both runner generations (6.12: always 0;
// later: 1 when a test failed, -f restores 0).
export function usage(prog: string): string {
  return `Usage: ${prog} [OPTIONS]
  -s | --summary                Print the summary; test logs go to output.log in the base directory
  -p | --per-test-log [DIR]     Write each test's log to DIR/<test name>, DIR defaulting to /tmp (wins over -s)
  -t | --test COLLECTION:TEST   Run TEST from COLLECTION (repeatable)
  -c | --collection COLLECTION  Run all tests from COLLECTION (repeatable)
  -S | --skip COLLECTION:TEST   Leave TEST of COLLECTION out (repeatable)
  -l | --list                   List the available collection:test entries
  -d | --dry-run                Print what would run, run nothing
  -n | --netns                  Run each test in its own network namespace (needs 'ip' and CAP_SYS_ADMIN)
  -o | --override-timeout N     Time out every test after N seconds (0: no timeout)
  -f | --no-error-on-fail       Exit 0 even when tests failed (the 6.12 runner's behaviour)
  -h | --help                   Show this usage info
       --base-dir DIR           Directory holding the collections (default: beside this script;
                                build/tests for build/run_kselftest.sh)
       --list-file FILE         Test list (default: kselftest-list.txt beside this script)
       --ktap                   The later runner's shape: one plan for the whole run, numbers
                                continuing across collections, exit 2 as # XFAIL, no bare #
                                before # TIMEOUT, a final # Totals line
  -j | --jobs N                 Run up to N tests at once; output stays in plan order, as in a serial run
                                (settings: serial=1, serial_tests=a,b, resources=r1,r2, resources_<test>=r)
       --format F               tap13 (default, the 6.12 shape), ktap (KTAP v1) or tap14; ktap and tap14
                                are one stream and nest a test's own TAP as a subtest
       --retries N              Run a failing test up to N more times; a later pass is reported # FLAKY
  -m | --matrix VAR=V1,V2       Run the tests once per value (repeatable: every combination), as suites
                                named collection[var=value,...]
       --shard I/N              Run the I-th of N shares of the plan
       --output DIR             Keep DIR/<suite>/<test>/{output,status,duration}
       --json FILE              Write the results as JSON (schema: tools/runner/report.ts)
       --junit FILE             Write the results as JUnit XML
       --merge FILE             Merge the --json reports of all shards (repeatable): totals and failures on
                                stdout, --json/--junit write the merged report
       --progress WHEN          auto (default: when stderr is a terminal), always or never: a live totals
                                line on stderr and a summary naming every failed and timed-out test

Exit status: 0 when every test passed or was skipped, 1 when any test failed
(not ok: non-zero exit, timeout, missing or unrunnable file), 1 on bad options,
130/143 when stopped by SIGINT/SIGTERM. With -f, test failures do not change
the exit status.
Per-test arguments come from KSELFTEST_<NAME>_ARGS (NAME: the test's file name
upper-cased, other characters than A-Z, 0-9 and _ replaced by _), split on
whitespace with '...' and "..." quoting; no shell is involved.
`;
}
