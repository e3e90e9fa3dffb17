// Listing a new program in a collection's Makefile: the name goes at the
// end of the first TEST_GEN_PROGS assignment (a logical line: `\`
// continuations joined, a trailing `# comment` kept after it), or a new
// `TEST_GEN_PROGS := <name>` line goes before the include of lib.mk when
// the collection has none. The edit is text only; the caller asks make
// afterwards whether the name is really listed (conditionals, includes).

const ASSIGN = /^\s*TEST_GEN_PROGS\s*(?::=|::=|\+=|\?=|=)/;

/** Index of the `#` that starts a make comment on `line`, or -1 (`\#` is a literal #). */
function commentStart(line: string): number {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '#') return i;
  }
  return -1;
}

/** The Makefile text with `name` appended to TEST_GEN_PROGS. */
export function addToTestGenProgs(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => ASSIGN.test(l));
  if (start < 0) {
    // lib.mk reads the variables when it is included: the line goes before it.
    const inc = lines.findIndex((l) => /^\s*-?include\b.*lib\.mk/.test(l));
    if (inc < 0) return `${text.replace(/\n*$/, '\n')}TEST_GEN_PROGS := ${name}\n`;
    lines.splice(inc, 0, `TEST_GEN_PROGS := ${name}`, '');
    return lines.join('\n');
  }
  let end = start;
  while (lines[end]!.replace(/\s+$/, '').endsWith('\\') && end + 1 < lines.length) end++;
  const last = lines[end]!;
  const hash = commentStart(last);
  const code = (hash < 0 ? last : last.slice(0, hash)).replace(/\s+$/, '');
  const comment = hash < 0 ? '' : ` ${last.slice(hash)}`;
  lines[end] = `${code} ${name}${comment}`;
  return lines.join('\n');
}
