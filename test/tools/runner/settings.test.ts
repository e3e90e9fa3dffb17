import t from 'tap';
import { DEFAULT_TIMEOUT, effectiveTimeout, loadSettings, parseSettings, SettingsError } from '../../../tools/runner/settings.js';

t.test('parseSettings', async (t) => {
  t.same(parseSettings('timeout=120\n', 'S'), { timeout: 120 });
  t.same(parseSettings('# comment\n\n  timeout=0  \r\nother_key=whatever\n', 'S'), { timeout: 0 }, 'comments, blanks, CRLF, unknown keys');
  t.same(parseSettings('', 'S'), {});
  t.throws(() => parseSettings('timeout=1\n=3\n', 'S'), new SettingsError("S:2: malformed line '=3': expected key=value"));
  t.throws(() => parseSettings('timeout=-1\n', 'S'), new SettingsError("S:1: invalid timeout '-1': expected a whole number of seconds"));
  t.throws(() => parseSettings('timeout=\n', 'S'), new SettingsError("S:1: invalid timeout '': expected a whole number of seconds"));
});

t.test('precedence: -o, then settings, then 45', async (t) => {
  t.equal(DEFAULT_TIMEOUT, 45);
  t.equal(effectiveTimeout({}, undefined), 45);
  t.equal(effectiveTimeout({ timeout: 120 }, undefined), 120);
  t.equal(effectiveTimeout({ timeout: 120 }, 5), 5);
  t.equal(effectiveTimeout({}, 0), 0);
});

t.test('a missing file means defaults', async (t) => {
  t.same(loadSettings('/nonexistent/ksft/settings'), {});
});
