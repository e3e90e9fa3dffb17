/**
 * KSFT_PLATFORM=<path>: a user plugin folder drives a generic test on the
 * model, and a bad plugin is one line on stderr with exit 1.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface EditableManifest {
  name: string;
  marker: { bit?: number };
  hardware: Record<string, number | string | boolean>;
  granularity: { pageSize: number | string };
}

function plugin(edit: (m: EditableManifest) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'ksft-user-plugin-'));
  const m = JSON.parse(readFileSync('platforms/tdx/manifest.json', 'utf8')) as EditableManifest;
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

const run = (platform: string) => spawnSync(process.execPath, ['--import', 'tsx', 'tests/kvm/private_mem_conversions_test.ts'], {
  encoding: 'utf8', timeout: 120_000, env: { ...process.env, KSFT_PLATFORM: platform },
});

t.test('a user plugin with other [H] parameters runs the conversion test', async (t) => {
  const dir = plugin((m) => {
    m.name = 'tdx_gpaw52';
    m.hardware.gpaw = 52;
    m.hardware.mapGpaChunkBytes = 1 << 20;
  });
  const r = run(dir);
  t.equal(r.status, 0, r.stderr);
});

t.test('a bad user plugin is one line naming the file, the field and the type', async (t) => {
  const dir = plugin((m) => {
    m.granularity.pageSize = '4K';
  });
  const r = run(dir);
  t.equal(r.status, 1);
  t.equal(r.stderr, `KSFT_PLATFORM: ${join(dir, 'manifest.json')}: field /granularity/pageSize expected integer >= 4096, got "4K"\n`);
});

t.test('a mistyped hardware parameter, or a derived fact stated beside it, is one line too', async (t) => {
  const mistyped = plugin((m) => {
    m.hardware.gpaw = 50;
  });
  const r = run(mistyped);
  t.equal(r.status, 1);
  t.equal(r.stderr, `KSFT_PLATFORM: ${join(mistyped, 'manifest.json')}: field /hardware/gpaw expected one of 48 | 52, got 50\n`);
  const twice = plugin((m) => {
    m.marker.bit = 47;
    m.hardware.gpaw = 52;
  });
  const r2 = run(twice);
  t.equal(r2.status, 1);
  t.equal(r2.stderr, `KSFT_PLATFORM: ${join(twice, 'manifest.json')}: field /marker/bit expected absent (derived from /hardware/gpaw as gpaw - 1), got 47\n`);
});
