/**
 * An exception nothing caught, reported at its source position.
 *
 * Built tests run without `--enable-source-maps` (parsing a bundle's map
 * as it loads is most of a test's start-up; source_map.ts), so Node's own
 * report of an uncaught exception would name bundle lines. While no other
 * code listens (the harness's TEST processes do, child.ts), this prints the
 * stack mapped on demand and exits 1, as Node does; a rejection nobody
 * handled reaches here too (Node's default `--unhandled-rejections=throw`
 * raises it as an uncaught exception). Under the flag or tsx it stays out
 * of the way.
 */
import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import { mapStack, nodeMapsStacks } from './source_map.js';

let installed = false;

function report(err: unknown): void {
  // Another listener registered after this one owns the report.
  if (process.listenerCount('uncaughtException') > 1) return;
  const text = err instanceof Error && err.stack ? mapStack(err.stack) : `Uncaught ${inspect(err)}`;
  try {
    writeSync(2, `${text}\n\nNode.js ${process.version}\n`);
  } finally {
    process.exit(1);
  }
}

export function mapUncaughtStacks(): void {
  if (installed || nodeMapsStacks()) return;
  installed = true;
  process.on('uncaughtException', report);
}
