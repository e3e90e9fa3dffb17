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

export const SettingsSchema = Type.Object({
  timeout: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Settings = Static<typeof SettingsSchema>;

export class SettingsError extends Error {}

const LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

export function parseSettings(text: string, file: string): Settings {
  const out: Record<string, unknown> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) throw new SettingsError(`${file}:${i + 1}: malformed line '${line}': expected key=value`);
    const [, key, value] = m;
    if (key === 'timeout') {
      if (!/^[0-9]+$/.test(value!)) {
        throw new SettingsError(`${file}:${i + 1}: invalid timeout '${value}': expected a whole number of seconds`);
      }
      out.timeout = Number(value);
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

/** -o wins over `settings`, which wins over the 45 s default. */
export function effectiveTimeout(settings: Settings, override: number | undefined): number {
  return override ?? settings.timeout ?? DEFAULT_TIMEOUT;
}
