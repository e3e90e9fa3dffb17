// -j N: which test starts next. Tests start in plan order, up to N at once,
// as long as nothing they declare conflicts with what is running: a
// `serial` test waits until nothing runs and nothing starts beside it (and
// later tests wait for it, so it is never starved), and two tests that name
// a resource in common never overlap (settings.ts). -j 1 is the serial run.

export interface Schedulable {
  readonly serial: boolean;
  readonly resources: readonly string[];
}

export async function schedule<T extends Schedulable>(
  jobs: readonly T[],
  parallel: number,
  run: (job: T, index: number) => Promise<void>,
  signal: AbortSignal,
): Promise<number[]> {
  const started: number[] = [];
  const running = new Set<number>();
  const held = new Map<string, number>();
  let nextFirst = 0;
  let wake: (() => void) | undefined;
  const tasks: Promise<void>[] = [];

  const canStart = (j: T): boolean => {
    if (running.size >= parallel) return false;
    if ([...running].some((i) => jobs[i]!.serial)) return false;
    if (j.serial && running.size > 0) return false;
    return j.resources.every((r) => !held.has(r));
  };

  const launch = (i: number): void => {
    const j = jobs[i]!;
    running.add(i);
    started.push(i);
    for (const r of j.resources) held.set(r, i);
    tasks.push(run(j, i).finally(() => {
      running.delete(i);
      for (const r of j.resources) if (held.get(r) === i) held.delete(r);
      wake?.();
    }));
  };

  const pending = new Set(jobs.map((_, i) => i));
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  while (pending.size > 0 && !signal.aborted) {
    for (let i = nextFirst; i < jobs.length; i++) {
      if (!pending.has(i)) continue;
      const j = jobs[i]!;
      if (canStart(j)) {
        pending.delete(i);
        launch(i);
      } else if (j.serial) {
        // Nothing overtakes a serial test.
        break;
      }
      if (running.size >= parallel) break;
    }
    while (nextFirst < jobs.length && !pending.has(nextFirst)) nextFirst++;
    if (pending.size === 0) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
  signal.removeEventListener('abort', onAbort);
  await Promise.all(tasks);
  return started;
}
