// The line /bin/sh prints when a foreground command dies by a signal. In
// kselftest/runner.sh the test runs under coreutils `timeout`, which re-raises
// the child's signal on itself (core dumps disabled first), so the runner's
// shell sees its command killed by that signal and writes the glibc
// strsignal() text on its stderr, which the `2>&1` sends through prefix.pl:
// `# Segmentation fault`. dash (Debian's /bin/sh, `sprint_status()` in
// src/jobs.c) stays silent for SIGINT and SIGPIPE; bash as /bin/sh words it
// differently, so the dash form is the one reproduced.

/** glibc strsignal() on Linux, by the signal names Node reports. */
const TEXT: Readonly<Partial<Record<NodeJS.Signals, string>>> = {
  SIGHUP: 'Hangup',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGIOT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGSTKFLT: 'Stack fault',
  SIGCHLD: 'Child exited',
  SIGCONT: 'Continued',
  SIGSTOP: 'Stopped (signal)',
  SIGTSTP: 'Stopped',
  SIGTTIN: 'Stopped (tty input)',
  SIGTTOU: 'Stopped (tty output)',
  SIGURG: 'Urgent I/O condition',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGVTALRM: 'Virtual timer expired',
  SIGPROF: 'Profiling timer expired',
  SIGWINCH: 'Window changed',
  SIGIO: 'I/O possible',
  SIGPOLL: 'I/O possible',
  SIGPWR: 'Power failure',
  SIGSYS: 'Bad system call',
};

/** The shell's line (with '\n') for a test killed by `sig`, or '' when dash prints none. */
export function signalMessage(sig: NodeJS.Signals): string {
  if (sig === 'SIGINT' || sig === 'SIGPIPE') return '';
  return `${TEXT[sig] ?? `Unknown signal ${sig}`}\n`;
}
