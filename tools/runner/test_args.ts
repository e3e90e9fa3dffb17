// KSELFTEST_<NAME>_ARGS (kselftest/runner.sh, run_one()): NAME is the test's
// file name with blanks and control characters deleted, every other
// character outside [A-Za-z0-9_] turned into '_', then upper-cased. The
// kernel expands the variable unquoted inside a shell command; there is no
// shell here, so the value is split on whitespace and '...' / "..." group
// words (a backslash escapes the next character outside single quotes).

export class ArgsError extends Error {}

export function argsVariable(basename: string): string {
  const cleaned = basename.replace(/[\s\p{Cc}]/gu, '').replace(/[^A-Za-z0-9_]/g, '_');
  return `KSELFTEST_${cleaned.toUpperCase()}_ARGS`;
}

export function splitArgs(value: string, what: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < value.length) cur += value[++i];
      else cur += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < value.length) {
      cur += value[++i];
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new ArgsError(`${what}: unterminated ${quote} quote in '${value}'`);
  if (inWord) out.push(cur);
  return out;
}

export function testArgs(basename: string, env: NodeJS.ProcessEnv): string[] {
  const name = argsVariable(basename);
  const v = env[name];
  return v === undefined ? [] : splitArgs(v, name);
}
