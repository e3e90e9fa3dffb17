// Every @example of a doc comment and every ```ts block of docs/*.md
// (the tutorial has its own test) typechecks and runs on the model
// (tools/docs/examples.ts); an example that does not typecheck or does not
// exit 0 fails, named by where it is written.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { apiModules } from '../../../tools/docs/generate.js';
import { docCommentExamples, markdownExamples, runExamples, type Example } from '../../../tools/docs/examples.js';
import { openProject } from '../../../tools/docs/ts_project.js';
import { ROOT } from '../runner/helpers.js';

const p = openProject(ROOT);
const modules = apiModules(p);
p.close();

t.test('the examples of the doc comments and of docs/*.md run', async (t) => {
  const fromComments = docCommentExamples(modules.values());
  const pages = readdirSync(`${ROOT}/docs`).filter((f) => f.endsWith('.md') && f !== 'tutorial.md').map((f) => `docs/${f}`);
  const fromPages = pages.flatMap((f) => markdownExamples(ROOT, f));
  t.ok(fromComments.length >= 10, `${fromComments.length} doc-comment examples`);
  t.ok(fromPages.length >= 10, `${fromPages.length} examples in ${pages.join(', ')}`);
  for (const r of await runExamples(ROOT, [...fromComments, ...fromPages], modules)) t.ok(r.ok, r.example.source, { diagnostic: !r.ok, detail: r.detail });
});

t.test('a wrong example is caught: one that does not typecheck, one that fails, one that skips', async (t) => {
  const bad: Example[] = [
    { source: 'typo', code: 'vmMemSetPrivate(vm, 0, 4096);\n' },
    { source: 'mixed', code: "const { vm, gpa } = cocoVmCreate('sw_protected', undefined);\nhostFill(gpa, 1, 0);\n" },
    { source: 'fails', code: "const { vm, gpa } = cocoVmCreate('sw_protected', undefined);\nexpectHostSees(vm, gpa, 4096, 0x99);\n" },
    { source: 'skips', code: "requireConversion(loadPlatform('sev'));\n" },
  ];
  const [typo, mixed, fails, skips] = await runExamples(ROOT, bad, modules, 2);
  t.match(typo!.detail, /does not typecheck:\nline 1 of the example: error TS2304: Cannot find name 'vm'/);
  t.match(mixed!.detail, /line 2 of the example: error TS2345: Argument of type 'Gpa' is not assignable to parameter of type 'HvaArg'/);
  t.match(fails!.detail, /^exit status 254 [\s\S]*Host expected 0x99 at offset 0x0/);
  t.match(skips!.detail, /^exit status 4 [\s\S]*1\.\.0 # SKIP - Requirement not met: platform sev/);
  t.notOk(typo!.ok || mixed!.ok || fails!.ok || skips!.ok);
});
