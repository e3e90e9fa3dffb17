// Generated blocks inside hand-written pages: the text between
// `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->` is
// replaced by a generator's output; everything else is the author's.

const begin = (name: string): string => `<!-- BEGIN GENERATED: ${name} (make docs) -->`;
const end = (name: string): string => `<!-- END GENERATED: ${name} -->`;

/** `page` with each named block's content replaced; a block missing from the page is an error naming it. */
export function fillBlocks(page: string, file: string, blocks: Readonly<Record<string, string>>): string {
  let out = page;
  for (const [name, content] of Object.entries(blocks)) {
    const b = out.indexOf(begin(name));
    const e = out.indexOf(end(name));
    if (b < 0 || e < b) throw new Error(`${file}: no block '${name}' (${begin(name)} ... ${end(name)})`);
    out = `${out.slice(0, b + begin(name).length)}\n\n${content.trimEnd()}\n\n${out.slice(e)}`;
  }
  return out;
}
