// Per-collection `settings` file (kselftest/runner.sh, run_one()): `key=value`
// lines, `#` lines ignored; only `timeout` has a meaning (seconds; 0 disables
// the timeout, as `timeout 0` does). The kernel evals every line into a shell
// variable; here a line that is not `key=value` is an error naming the file
// and line, so a typo cannot silently leave the 45 s default in place.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readBounded } from './read_bounded.js';

/** Far above any real settings file (the kernel's are one or two lines). */
export const SETTINGS_MAX_BYTES = 64 * 1024;

export const DEFAULT_TIMEOUT = 45;

const Name = Type.String({ pattern: '^[A-Za-z0-9_.+-]+$' });

/**
 * `timeout` is the kernel's key. The others only matter to `-j`: the kernel
 * runner ignores unknown keys (it evals each into an unused shell variable),
 * so they are spelled as shell variable names with comma lists (no blanks)
 * and the file stays valid for it.
 *   serial=1                 no test of the collection runs beside any other test
 *   serial_tests=a,b         tests a and b run alone
 *   resources=r1,r2          every test holds these named resources while it runs
 *   resources_<test>=r1      one test holds them (<test>: its file name, characters
 *                            outside [A-Za-z0-9_] turned into '_', as in KSELFTEST_<TEST>_ARGS)
 *   timeout_<test>=N         one test's timeout (seconds); -o still wins
 * Two tests that name a resource in common never run at the same time.
 */
export const SettingsSchema = Type.Object({
  timeout: Type.Optional(Type.Integer({ minimum: 0 })),
  serial: Type.Optional(Type.Boolean()),
  serialTests: Type.Optional(Type.Array(Name)),
  resources: Type.Optional(Type.Array(Name)),
  testResources: Type.Optional(Type.Record(Type.String(), Type.Array(Name))),
  testTimeouts: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }))),
});
export type Settings = Static<typeof SettingsSchema>;

/** The settings key suffix for a test: its name with [^A-Za-z0-9_] turned into '_'. */
export function settingsKey(test: string): string {
  return test.replace(/[^A-Za-z0-9_]/g, '_');
}

function list(value: string): string[] {
  return value.split(',').filter((x) => x !== '');
}

export class SettingsError extends Error {}

const LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

export function parseSettings(text: string, file: string): Settings {
  const out: Record<string, unknown> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) throw new SettingsError(`${file}:${i + 1}: malformed line '${line}': expected key=value`);
    const [, key, value] = m as unknown as [string, string, string];
    const bad = (what: string): never => { throw new SettingsError(`${file}:${i + 1}: invalid ${key} '${value}': expected ${what}`); };
    const seconds = (): number => (/^[0-9]+$/.test(value) ? Number(value) : bad('a whole number of seconds'));
    const names = (): string[] => (/^[A-Za-z0-9_.+,-]*$/.test(value) ? list(value) : bad('a comma-separated list of names'));
    if (key === 'timeout') {
      if (!/^[0-9]+$/.test(value)) {
        throw new SettingsError(`${file}:${i + 1}: invalid timeout '${value}': expected a whole number of seconds`);
      }
      out.timeout = Number(value);
    } else if (key === 'serial') {
      out.serial = /^(1|0)$/.test(value) ? value === '1' : bad('1 or 0');
    } else if (key === 'serial_tests') {
      out.serialTests = names();
    } else if (key === 'resources') {
      out.resources = names();
    } else if (key.startsWith('resources_')) {
      ((out.testResources ??= {}) as Record<string, string[]>)[key.slice('resources_'.length)] = names();
    } else if (key.startsWith('timeout_')) {
      ((out.testTimeouts ??= {}) as Record<string, number>)[key.slice('timeout_'.length)] = seconds();
    }
  });
  if (!Value.Check(SettingsSchema, out)) throw new SettingsError(`${file}: invalid settings`);
  return out;
}

/** Reads `file` if it exists; a missing file means the defaults. */
export function loadSettings(file: string): Settings {
  let text: string;
  try {
    text = readBounded(file, SETTINGS_MAX_BYTES);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SettingsError((e as NodeJS.ErrnoException).code ? `${file}: ${(e as Error).message}` : (e as Error).message);
  }
  return parseSettings(text, file);
}

/** -o wins over `settings` (the test's own key, then the collection's), which wins over the 45 s default. */
export function effectiveTimeout(settings: Settings, override: number | undefined, test?: string): number {
  const own = test === undefined ? undefined : settings.testTimeouts?.[settingsKey(test)];
  return override ?? own ?? settings.timeout ?? DEFAULT_TIMEOUT;
}

/** What a test declares for -j: run alone, and the named resources it holds. */
export function testConstraints(settings: Settings, test: string): { serial: boolean; resources: string[] } {
  const key = settingsKey(test);
  return {
    serial: settings.serial === true || (settings.serialTests ?? []).includes(test),
    resources: [...new Set([...(settings.resources ?? []), ...(settings.testResources?.[key] ?? [])])],
  };
}
