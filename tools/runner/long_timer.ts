// A timer for any whole number of seconds the runner accepts (`-o`, a
// `settings` timeout). setTimeout() holds a signed 32-bit millisecond count:
// from 2^31 ms (about 24.8 days) on it warns and fires after 1 ms instead,
// so `-o 3000000` would time every test out at once. coreutils `timeout`,
// which the kernel runner uses, takes any such duration; longer waits are
// chained here in steps below the limit.

/** The largest delay setTimeout() honours. */
export const MAX_TIMER_MS = 0x7fffffff;

export interface LongTimer {
  clear(): void;
}

export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const deadline = Date.now() + ms;
  const arm = (left: number): void => {
    timer = setTimeout(() => {
      if (cleared) return;
      const rest = deadline - Date.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.min(Math.max(left, 0), MAX_TIMER_MS));
  };
  arm(ms);
  return {
    clear: () => {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
