/**
 * A short map of page states around a GPA, for failure messages: what the
 * host last asked for each page (attribute private/shared, and whether its
 * guest_memfd range was last punched or allocated). It is the test's own
 * record of its requests, not a read of KVM state, and says so.
 */
import { memRegionFind } from './memslots.js';
import { hex, type GpaArg } from './types.js';
import type { KvmVm, MemEvent } from './vm.js';

/**
 * A page as the test last asked for it: its attribute, `/hole` when its
 * guest_memfd range was last punched, `no-slot` outside every memslot.
 */
export type PageState = 'shared' | 'private' | 'private/hole' | 'shared/hole' | 'no-slot';

/**
 * The state of the page at `gpa` as the test's own requests left it
 * (vmSetMemoryAttributes, vmGuestMemFallocate): a record of what was asked,
 * since KVM has no "get attributes" call.
 */
export function pageState(vm: KvmVm, at: GpaArg): PageState {
  const gpa = BigInt(at);
  const region = memRegionFind(vm, gpa, gpa);
  if (!region) return 'no-slot';
  let priv = false;
  let hole = false;
  let attrSeen = false;
  let gmemSeen = region.guestMemfd < 0;
  const gmemOff = region.guestMemfdOffset + (gpa - region.gpa);
  for (let i = vm.memEvents.length - 1; i >= 0 && !(attrSeen && gmemSeen); i--) {
    const e: MemEvent = vm.memEvents[i]!;
    if (e.kind === 'attr' && !attrSeen && gpa >= e.gpa && gpa < e.gpa + e.size) {
      priv = e.private;
      attrSeen = true;
    } else if (e.kind === 'gmem' && !gmemSeen && e.fd === region.guestMemfd && gmemOff >= e.offset && gmemOff < e.offset + e.len) {
      hole = e.punch;
      gmemSeen = true;
    }
  }
  return `${priv ? 'private' : 'shared'}${hole ? '/hole' : ''}` as PageState;
}

/**
 * Whether failure text may carry colour: stderr is a terminal and NO_COLOR
 * (no-color.org) is unset. Under the runner stderr is a pipe, so the TAP
 * stream and the logs stay plain.
 */
export function useColour(stream: { readonly isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

const SGR: Readonly<Record<PageState, string>> = {
  private: '35', // magenta: the guest's own
  shared: '32', // green: the host sees it
  'private/hole': '33', // yellow: freed under a private page
  'shared/hole': '33',
  'no-slot': '90', // grey
};

/**
 * `page states (as last requested by the test): 0x...000 shared, >0x...1000 private/hole, ...`
 * for `radius` pages either side of `gpa` (the page holding `gpa` is marked
 * `>`), each state in its colour when `colour` (default: useColour()).
 */
export function pageStateMap(vm: KvmVm, at: GpaArg, radius = 2, colour = useColour()): string {
  const gpa = BigInt(at);
  const ps = BigInt(vm.pageSize);
  const page = gpa & ~(ps - 1n);
  const parts: string[] = [];
  for (let i = -radius; i <= radius; i++) {
    const p = page + BigInt(i) * ps;
    if (p < 0n) continue;
    const st = pageState(vm, p);
    if (st === 'no-slot' && i !== 0) continue;
    const text = colour ? `\x1b[${SGR[st]}m${st}\x1b[0m` : st;
    const mark = i === 0 ? (colour ? '\x1b[1m>\x1b[0m' : '>') : '';
    parts.push(`${mark}${hex(p)} ${text}`);
  }
  return `page states (as last requested by the test): ${parts.join(', ')}`;
}
