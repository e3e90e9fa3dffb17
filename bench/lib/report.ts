// One row of `make bench`: a figure of ours beside its anchor and target.
// Figures print their rows as JSON lines on stdout (`BENCH_ROW {...}`);
// bench/make_bench.ts validates them against this schema before they go
// into the table and bench/RESULTS.md.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const BenchRow = Type.Object({
  /** Stable key, e.g. `runner.serial`. */
  id: Type.String({ pattern: '^[a-z0-9_.]+$' }),
  figure: Type.String({ minLength: 1 }),
  /** Our measurement, with its unit. */
  ours: Type.String(),
  /** The anchor measured in the same interleaved run (or the fixed budget). */
  anchor: Type.String(),
  /** ours / anchor where the target is a ratio. */
  ratio: Type.Union([Type.Number(), Type.Null()]),
  target: Type.String({ minLength: 1 }),
  /** null: not measured here (the reason is in `note`). */
  met: Type.Union([Type.Boolean(), Type.Null()]),
  note: Type.Optional(Type.String()),
}, { additionalProperties: false });
export type BenchRow = Static<typeof BenchRow>;

export const ROW_PREFIX = 'BENCH_ROW ';

/** Prints a row for the driver (and a readable line on stderr when run alone). */
export function emitRow(row: BenchRow): void {
  const errors = [...Value.Errors(BenchRow, row)];
  if (errors.length) throw new Error(`bench row ${row.id}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  process.stdout.write(`${ROW_PREFIX}${JSON.stringify(row)}\n`);
  process.stderr.write(`  ${row.figure}: ${row.ours} vs ${row.anchor}${row.ratio === null ? '' : ` (${row.ratio.toFixed(2)}x)`} -> ${verdict(row)}\n`);
}

/** Parses the rows out of a figure's stdout; anything else is an error. */
export function parseRows(stdout: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(ROW_PREFIX)) continue;
    const v: unknown = JSON.parse(line.slice(ROW_PREFIX.length));
    if (!Value.Check(BenchRow, v)) throw new Error(`invalid bench row: ${line.slice(0, 200)}`);
    rows.push(v);
  }
  return rows;
}

export function verdict(r: BenchRow): string {
  return r.met === null ? 'not measured' : r.met ? 'met' : 'not met';
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown table of RESULTS.md (also printed by `make bench`). */
export function markdownTable(rows: readonly BenchRow[]): string {
  const head = '| figure | ours | anchor | ratio | target | result |\n|---|---|---|---|---|---|\n';
  return head + rows.map((r) =>
    `| ${cell(r.figure)} | ${cell(r.ours)} | ${cell(r.anchor)} | ${r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`} | ${cell(r.target)} | ${verdict(r)}${r.note ? ` (${cell(r.note)})` : ''} |`,
  ).join('\n') + '\n';
}
