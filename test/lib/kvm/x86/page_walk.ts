/**
 * A 4-level page walk over an image's bytes (SDM Vol. 3A §4.5.4): what the
 * vCPU's MMU would make of a linear address with the agent's CR3. The
 * tables are read from `bytes`, which start at GPA `base`; a table outside
 * them is an error in the image, not a fault.
 */
export interface Translation {
  readonly pa: bigint;
  readonly pageSize: bigint;
  /** The leaf entry. */
  readonly entry: bigint;
  /** The non-leaf entries on the way. */
  readonly path: readonly bigint[];
}

const ADDR = ((1n << 52n) - 1n) & ~0xfffn;

export function pageWalk(bytes: Uint8Array, base: bigint, cr3: bigint, va: bigint): Translation | { fault: string } {
  if (va >= 1n << 47n) return { fault: 'non-canonical' };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (table: bigint, index: bigint): bigint => {
    const at = table - base + index * 8n;
    if (at < 0n || at + 8n > BigInt(bytes.length)) throw new Error(`page table at 0x${table.toString(16)} is outside the image`);
    return dv.getBigUint64(Number(at), true);
  };
  let table = cr3 & ADDR;
  const path: bigint[] = [];
  const levels = [{ shift: 39n, name: 'PML4E' }, { shift: 30n, name: 'PDPTE' }, { shift: 21n, name: 'PDE' }, { shift: 12n, name: 'PTE' }];
  for (const [i, l] of levels.entries()) {
    const e = read(table, (va >> l.shift) & 511n);
    if (!(e & 1n)) return { fault: `${l.name} not present` };
    const leaf = i === 3 || ((i === 1 || i === 2) && (e & 0x80n) !== 0n);
    if (leaf) {
      const size = 1n << l.shift;
      const frame = e & ADDR & ~(size - 1n);
      return { pa: frame | (va & (size - 1n)), pageSize: size, entry: e, path };
    }
    if (i === 0 && (e & 0x80n)) return { fault: 'PS set in a PML4E (reserved)' };
    path.push(e);
    table = e & ADDR;
  }
  return { fault: 'unreachable' };
}

/** Every present leaf reachable from `cr3`, in address order: what the tables map at all. */
export function listMappings(bytes: Uint8Array, base: bigint, cr3: bigint): { va: bigint; size: bigint }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { va: bigint; size: bigint }[] = [];
  const visit = (table: bigint, level: number, vaBase: bigint): void => {
    const shift = BigInt(12 + 9 * level);
    for (let i = 0n; i < 512n; i++) {
      const at = Number(table - base + i * 8n);
      if (at < 0 || at + 8 > bytes.length) throw new Error(`page table at 0x${table.toString(16)} is outside the image`);
      const e = dv.getBigUint64(at, true);
      if (!(e & 1n)) continue;
      const va = vaBase | (i << shift);
      if (level === 0 || ((level === 1 || level === 2) && (e & 0x80n))) out.push({ va, size: 1n << shift });
      else visit(e & ADDR, level - 1, va);
    }
  };
  visit(cr3 & ADDR, 3, 0n);
  return out;
}
