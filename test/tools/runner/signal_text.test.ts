// The shell's line for a test killed by a signal: glibc strsignal() text,
// none for SIGINT and SIGPIPE (dash's sprint_status()).
import t from 'tap';
import { signalMessage } from '../../../tools/runner/signal_text.js';

t.test('strsignal() text with a newline; SIGINT and SIGPIPE are silent', async (t) => {
  t.equal(signalMessage('SIGSEGV'), 'Segmentation fault\n');
  t.equal(signalMessage('SIGKILL'), 'Killed\n');
  t.equal(signalMessage('SIGABRT'), 'Aborted\n');
  t.equal(signalMessage('SIGTERM'), 'Terminated\n');
  t.equal(signalMessage('SIGUSR1'), 'User defined signal 1\n');
  t.equal(signalMessage('SIGINT'), '');
  t.equal(signalMessage('SIGPIPE'), '');
});
