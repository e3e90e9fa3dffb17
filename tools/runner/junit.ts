// --junit FILE: JUnit XML as GitHub reporters and Jenkins read it
// (dorny/test-reporter, mikepenz/action-junit-report, the junit plugin):
// <testsuites> with one <testsuite> per suite (collection, or collection
// plus matrix cell), one <testcase> per test. A timeout or failure is
// <failure>, a skip <skipped/>; a test that passed only on a retry keeps
// its failed attempts as <flakyFailure> (the Maven Surefire rerun format
// the junit plugin and test reporters recognise), so it is never a plain
// pass; a test that failed every attempt lists the earlier ones as
// <rerunFailure>.
import type { Report, TestReport } from './report.js';

function esc(s: string): string {
  // XML 1.0 allows no control characters besides tab, LF and CR.
  return s.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function attemptWhy(a: TestReport['attempts'][number], timeout: number): string {
  return a.timed_out ? `TIMEOUT ${timeout} seconds` : `exit=${a.exit_code}`;
}

function testcase(t: TestReport): string {
  const open = `    <testcase classname="${esc(t.suite)}" name="${esc(t.test)}" time="${seconds(t.duration_ms)}"`;
  const last = t.attempts[t.attempts.length - 1];
  const out = last ? `      <system-out>${esc(last.output_tail)}</system-out>\n` : '';
  const earlier = t.attempts.slice(0, -1).map((a) => ({ why: attemptWhy(a, t.timeout_s), a }));
  let inner = '';
  switch (t.status) {
    case 'pass':
    case 'xfail':
      break;
    case 'skip':
      inner = '      <skipped/>\n';
      break;
    case 'flaky':
      inner = earlier.map(({ why, a }) => `      <flakyFailure message="${esc(why)}" type="${a.timed_out ? 'timeout' : 'exit'}"><system-out>${esc(a.output_tail)}</system-out></flakyFailure>\n`).join('');
      break;
    case 'fail':
    case 'timeout':
      inner = `      <failure message="${esc(t.reason ?? 'failed')}" type="${t.status === 'timeout' ? 'timeout' : 'exit'}">${esc(t.name)} # ${esc(t.reason ?? '')}</failure>\n`
        + earlier.map(({ why, a }) => `      <rerunFailure message="${esc(why)}" type="${a.timed_out ? 'timeout' : 'exit'}"><system-out>${esc(a.output_tail)}</system-out></rerunFailure>\n`).join('');
      break;
  }
  if (inner === '' && out === '') return `${open}/>\n`;
  return `${open}>\n${inner}${out}    </testcase>\n`;
}

export function junitXml(r: Report): string {
  const suites = new Map<string, TestReport[]>();
  for (const t of r.tests) {
    const l = suites.get(t.suite);
    if (l) l.push(t);
    else suites.set(t.suite, [t]);
  }
  const count = (ts: readonly TestReport[], ...s: TestReport['status'][]): number => ts.filter((t) => s.includes(t.status)).length;
  const time = (ts: readonly TestReport[]): number => ts.reduce((n, t) => n + t.duration_ms, 0);
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n';
  xml += `<testsuites name="kselftest" tests="${r.tests.length}" failures="${count(r.tests, 'fail', 'timeout')}" errors="0" skipped="${count(r.tests, 'skip')}" time="${seconds(r.duration_ms)}">\n`;
  for (const [name, ts] of suites) {
    xml += `  <testsuite name="${esc(name)}" tests="${ts.length}" failures="${count(ts, 'fail', 'timeout')}" errors="0" skipped="${count(ts, 'skip')}" time="${seconds(time(ts))}" timestamp="${esc(r.started)}">\n`;
    xml += ts.map(testcase).join('');
    xml += '  </testsuite>\n';
  }
  return `${xml}</testsuites>\n`;
}
