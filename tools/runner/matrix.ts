// -m VAR=v1,v2 (repeatable): the same tests under several configurations,
// the cartesian product of the axes in the order given (the first axis
// varies slowest). Each cell runs every selected collection once, as its own
// suite named `collection[label]`, so results stay unique and stable and CI
// sees which cell failed: `selftests: kvm[platform=snp,kernel=6.12]:
// guest_memfd_test`. The label drops the KSFT_ prefix and lower-cases those
// variables (KSFT_PLATFORM -> platform); any other variable keeps its name.
// Values keep to [A-Za-z0-9_.+-] in the label (others become '_'), so a name
// stays one word for the scrapers that split on blanks.

export interface Cell {
  /** Variables to set for the tests of this cell. */
  env: Record<string, string>;
  /** `platform=snp,kernel=6.12` */
  label: string;
}

export class MatrixError extends Error {}

function labelName(variable: string): string {
  return variable.startsWith('KSFT_') ? variable.slice(5).toLowerCase() : variable;
}

/** The cells of the axes; [] when there is no matrix. */
export function matrixCells(axes: readonly string[]): Cell[] {
  if (axes.length === 0) return [];
  let cells: Cell[] = [{ env: {}, label: '' }];
  const seenVars = new Set<string>();
  for (const axis of axes) {
    const eq = axis.indexOf('=');
    const variable = axis.slice(0, eq);
    if (seenVars.has(variable)) throw new MatrixError(`-m: ${variable} is given twice`);
    seenVars.add(variable);
    const values = axis.slice(eq + 1).split(',');
    if (new Set(values).size !== values.length) throw new MatrixError(`-m: ${variable} lists a value twice`);
    const next: Cell[] = [];
    for (const c of cells) {
      for (const v of values) {
        const part = `${labelName(variable)}=${v.replace(/[^A-Za-z0-9_.+-]/g, '_')}`;
        next.push({ env: { ...c.env, [variable]: v }, label: c.label === '' ? part : `${c.label},${part}` });
      }
    }
    cells = next;
  }
  const labels = new Set(cells.map((c) => c.label));
  if (labels.size !== cells.length) throw new MatrixError('-m: two cells get the same name once their values are made safe for a result name');
  return cells;
}
