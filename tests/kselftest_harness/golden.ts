/**
 * Comparing a harness transcript with its golden file: the normalisation
 * the kernel's harness selftest applies with sed (nothing that changes from
 * run to run may reach the comparison) and a line diff for the report.
 */

/** Replaces what differs between runs: process ids and elapsed times. */
export function normaliseTranscript(text: string): string {
  return text
    .replace(/\b(pid|PID)([ =:])\d+/g, '$1$2N')
    .replace(/\b\d+(\.\d+)?(ms|s)\b(?= elapsed)/g, 'T');
}

/**
 * A minimal line diff (longest common subsequence): lines only in
 * `expected` start with `-`, lines only in `actual` with `+`, common lines
 * with a space. Empty when the texts are equal.
 */
export function lineDiff(expected: string, actual: string): string[] {
  if (expected === actual) return [];
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(' ' + a[i]);
      i++;
      j++;
    } else if (j < m && (i >= n || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      out.push('+' + b[j]);
      j++;
    } else {
      out.push('-' + a[i]);
      i++;
    }
  }
  return out;
}
