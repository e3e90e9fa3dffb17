/** The profile table in lib/kvm/model/README.md is the one PROFILES renders, and no document names the removed `inplace` profile. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { README, TABLE_BEGIN, TABLE_END, profileTable, withTable } from '../../../../lib/kvm/model/profile_table.js';
import { KERNEL_NAMES } from '../../../../lib/kvm/model/profiles.js';

t.test('the README carries the generated table', async (t) => {
  const text = readFileSync(README, 'utf8');
  t.ok(text.includes(TABLE_BEGIN) && text.includes(TABLE_END));
  t.equal(withTable(text), text, 'run `node --import tsx lib/kvm/model/profile_table.ts --write` after changing profiles.ts');
  const table = profileTable();
  for (const k of KERNEL_NAMES) t.match(table.split('\n')[0]!, k);
  // Every row has a cell per column.
  const width = table.split('\n')[0]!.split('|').length;
  for (const line of table.trim().split('\n')) t.equal(line.split('|').length - (line.match(/\\\|/g)?.length ?? 0), width, line);
});

t.test('no document or option list still offers the inplace profile', async (t) => {
  const root = new URL('../../../../', import.meta.url);
  const files = execFileSync('git', ['ls-files', '*.md', 'lib/**/*.ts', 'tools/**/*.ts', 'Makefile'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  const hits = files.filter((f) => /`inplace`|KSFT_KERNEL=inplace|'inplace'|inplace profile/.test(readFileSync(new URL(f, root), 'utf8')));
  t.same(hits, []);
});
