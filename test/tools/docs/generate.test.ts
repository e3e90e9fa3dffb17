// The generated docs (tools/docs) are what is committed: the API reference
// of docs/api/, the platform matrix and the kernel profile table. A doc
// comment, a plugin, a collection or a profile changed without `make docs`
// fails here, naming the page; so does an export without a doc comment.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../../../tools/docs/generate.js';
import { fillBlocks } from '../../../tools/docs/generated.js';
import { firstParagraph, headerComment } from '../../../tools/docs/api_model.js';
import { openProject } from '../../../tools/docs/ts_project.js';
import { ROOT } from '../runner/helpers.js';

/** `line N: committed <a> / generated <b>`, or '' for equal texts. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: committed ${JSON.stringify(x[i] ?? null)} / generated ${JSON.stringify(y[i] ?? null)}`;
  }
  return '';
}

t.test('every generated page matches what make docs writes now', async (t) => {
  const p = openProject(ROOT);
  try {
    const g = await generate(p);
    t.same(g.undocumented, [], 'every export of a documented module has a doc comment');
    t.ok(g.files.size >= 11, `${g.files.size} generated files`);
    for (const [rel, content] of g.files) {
      const committed = readFileSync(join(ROOT, rel), 'utf8');
      t.ok(committed === content, `${rel} is up to date (run make docs if not)`, { diagnostic: committed !== content, firstDifference: firstDifference(committed, content) });
    }
    const kvmUtil = g.files.get('docs/api/kvm_util.md')!;
    t.match(kvmUtil, /### `vmMemSetPrivate`\n\n```ts\nfunction vmMemSetPrivate\(vm: KvmVm, gpa: GpaArg, size: Num\): void;\n```\n\nvm_mem_set_private\(\)/,
      'an entry: the declaration as written, then its doc comment');
    const matrix = g.files.get('docs/platform-matrix.md')!;
    t.match(matrix, /\| 27 \| convert shared private shared \|  \| ✓ 1 \|/, 'scenario 27 is covered on sw_protected only');
    t.match(matrix, /\| `tdx` \| `KVM_X86_TDX_VM` \(5\) \| upstream 6\.16 \|/, 'a platform row from its manifest');
    t.match(g.files.get('docs/kernel-profiles.md')!, /\| `absentVmTypes` ◆ \| .* \| TDX \(5\) \| none \| none \|/, 'the profiles table');
  } finally {
    p.close();
  }
});

t.test('generated blocks replace only their own text', async (t) => {
  const page = 'a\n<!-- BEGIN GENERATED: x (make docs) -->\nold\n<!-- END GENERATED: x -->\nb\n';
  t.equal(fillBlocks(page, 'p.md', { x: 'new\n' }), 'a\n<!-- BEGIN GENERATED: x (make docs) -->\n\nnew\n\n<!-- END GENERATED: x -->\nb\n');
  t.throws(() => fillBlocks(page, 'p.md', { y: '' }), /p\.md: no block 'y'/);
});

t.test('a file header comment, block or line style, and its first paragraph', async (t) => {
  t.equal(headerComment('/**\n * One.\n * Two.\n *\n * Three.\n */\nexport {};'), 'One.\nTwo.\n\nThree.');
  t.equal(headerComment('// One\n// two\nimport x;'), 'One\ntwo');
  t.equal(firstParagraph('One\ntwo.\n\nThree.'), 'One two.');
});
