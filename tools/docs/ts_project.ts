// The project as the TypeScript compiler sees it, for the generated docs:
// TypeScript 7's API (typescript/unstable/sync, the version pinned by
// package-lock.json) over tsconfig.json, so the API reference comes from
// the same symbols, types and doc comments that `tsc` checks, not from a
// second parser. One process of the compiler serves every generator.
import { API, SymbolFlags, type Checker, type Project, type Symbol } from 'typescript/unstable/sync';
import type { Node, SourceFile } from 'typescript/unstable/ast';
import { join } from 'node:path';

export interface TsProject {
  readonly root: string;
  readonly project: Project;
  readonly checker: Checker;
  sourceFile(rel: string): SourceFile;
  /** The module's exports, aliases resolved to their declarations, in export order. */
  exportsOf(rel: string): { readonly name: string; readonly symbol: Symbol }[];
  /** A symbol's first declaration, with the file it is in (relative to root). */
  declarationOf(s: Symbol): { readonly node: Node; readonly file: string } | undefined;
  close(): void;
}

export function openProject(root: string): TsProject {
  const api = new API({ cwd: root });
  const snapshot = api.updateSnapshot({ openProject: join(root, 'tsconfig.json') });
  const project = snapshot.getProjects()[0];
  if (!project) throw new Error(`${join(root, 'tsconfig.json')}: no TypeScript project`);
  const checker = project.checker;
  const sourceFile = (rel: string): SourceFile => {
    const sf = project.program.getSourceFile(join(root, rel));
    if (!sf) throw new Error(`${rel}: not part of the TypeScript project (tsconfig.json)`);
    return sf;
  };
  return {
    root,
    project,
    checker,
    sourceFile,
    exportsOf(rel) {
      const mod = checker.getSymbolAtLocation(sourceFile(rel));
      if (!mod) throw new Error(`${rel}: not a module`);
      return checker.getExportsOfModule(mod).map((e) => ({
        name: e.name,
        symbol: e.flags & SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e,
      }));
    },
    declarationOf(s) {
      const handle = s.declarations[0];
      const node = handle?.resolve(project);
      if (!node) return undefined;
      return { node, file: node.getSourceFile().fileName.slice(root.length + 1) };
    },
    close: () => api.close(),
  };
}
