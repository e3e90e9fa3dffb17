/**
 * getopt(3) over a short-option string, as glibc parses it for the C
 * selftests' `while ((opt = getopt(argc, argv, "hm:s:n:")) != -1)` loops:
 * options may follow operands (GNU permutation), may be grouped (`-hv`), and
 * an option's argument may be attached (`-n2`) or be the next word
 * (`-n 2`); `--` ends the options. The first bad option stops the scan with
 * glibc's message, which a C loop prints before its `default:` usage.
 */

/** One parsed option: `opt` is a letter of the option string, `arg` set for one that takes an argument. */
export interface GetoptOption {
  readonly opt: string;
  readonly arg?: string;
}

/** The options in order and the operands, or glibc's message for the first bad option (and the options before it). */
export type GetoptResult =
  | { ok: true; options: GetoptOption[]; operands: string[] }
  | { ok: false; options: GetoptOption[]; error: string };

/**
 * getopt(3) over `argv` (without argv[0]) and `optstring`; `prog` names the
 * program in the messages, as glibc uses argv[0].
 *
 * @example
 * const r = getopt(['-n', '2'], 'hn:', 'my_test');
 * if (!r.ok) throw new Error(r.error);
 */
export function getopt(argv: readonly string[], optstring: string, prog: string): GetoptResult {
  const options: GetoptOption[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] ?? '';
      const at = optstring.indexOf(c);
      if (c === ':' || at < 0) return { ok: false, options, error: `${prog}: invalid option -- '${c}'\n` };
      if (optstring[at + 1] !== ':') {
        options.push({ opt: c });
        continue;
      }
      let arg: string | undefined = a.slice(j + 1);
      if (arg === '') {
        arg = argv[i + 1];
        if (arg === undefined) return { ok: false, options, error: `${prog}: option requires an argument -- '${c}'\n` };
        i++;
      }
      options.push({ opt: c, arg });
      break;
    }
  }
  return { ok: true, options, operands };
}
