// What the API reference says about a module: its exports, each with its
// kind, its signature as declared, its doc comment and the examples in it
// (`@example` blocks), grouped by the file that defines them (one concern
// per file, so the file's own header comment introduces the group).
import { SymbolFlags, type Symbol } from 'typescript/unstable/sync';
import {
  isClassDeclaration, isFunctionDeclaration, isInterfaceDeclaration, isMethodDeclaration, isPropertyDeclaration, isTypeAliasDeclaration,
  isVariableDeclaration,
} from 'typescript/unstable/ast/is';
import type { Node } from 'typescript/unstable/ast';
import type { TsProject } from './ts_project.js';

export type ApiKind = 'function' | 'const' | 'class' | 'interface' | 'type';

export interface ApiSymbol {
  readonly name: string;
  readonly kind: ApiKind;
  /** The declaration as written, without bodies or doc comments. */
  readonly signature: string;
  /** The doc comment's text, without its tags. */
  readonly doc: string;
  /** The ```ts blocks of its `@example` tags, fences removed. */
  readonly examples: readonly string[];
  /** Defining file, relative to the project root, and the 1-based line of the declaration. */
  readonly file: string;
  readonly line: number;
}

export interface ApiGroup {
  readonly file: string;
  /** The first paragraph of the file's header comment. */
  readonly intro: string;
  readonly symbols: readonly ApiSymbol[];
}

export interface ApiModule {
  /** Entry point, relative to the project root: lib/kvm_util/index.ts. */
  readonly entry: string;
  readonly intro: string;
  readonly groups: readonly ApiGroup[];
}

/** The text of a file's leading doc comment (`/** ... *\/` or a run of `//` lines), decorations removed. */
export function headerComment(text: string): string {
  const block = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (block) return block[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    const m = /^\/\/ ?(.*)$/.exec(l);
    if (!m) break;
    lines.push(m[1]!);
  }
  return lines.join('\n').trim();
}

/** The first paragraph of a comment, joined into one line. */
export const firstParagraph = (text: string): string => (text.split(/\n\s*\n/)[0] ?? '').replace(/\s*\n\s*/g, ' ').trim();

/** Non-exported `type X = ...;` aliases of a file, which signatures mention but the reference has no entry for. */
function localAliases(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of text.matchAll(/^type (\w+) = ([^;\n]+);$/gm)) m.set(a[1]!, a[2]!);
  return m;
}

function expand(sig: string, aliases: ReadonlyMap<string, string>): string {
  let out = sig;
  for (const [name, def] of aliases) out = out.replace(new RegExp(`\\b${name}\\b`, 'g'), def);
  return out;
}

const stripExport = (s: string): string => s.replace(/^export\s+(default\s+)?/, '').replace(/^declare\s+/, '');

/** Source text from the node's start to the start of `body` (or its end): a declaration without its body. */
function headOf(node: Node, body: Node | undefined): string {
  const sf = node.getSourceFile();
  const start = node.getStart(sf);
  const end = body ? body.getStart(sf) : node.getEnd();
  return sf.text.slice(start, end).trim().replace(/\s*=>\s*$/, '').replace(/\s+/g, ' ');
}

function classSignature(p: TsProject, node: Node): string {
  if (!isClassDeclaration(node)) return headOf(node, undefined);
  const sf = node.getSourceFile();
  const members: string[] = [];
  for (const m of node.members) {
    const text = m.getText(sf);
    if (/^(private|protected)\b/.test(text) || text.startsWith('#')) continue;
    if (isMethodDeclaration(m)) members.push(`  ${headOf(m, m.body)};`);
    else if (isPropertyDeclaration(m)) {
      // A field typed by its initializer shows the type the checker gives it.
      const decl = text.replace(/\s*=(?!>)[\s\S]*$/, '').replace(/;$/, '');
      const type = m.type ? '' : `: ${p.checker.typeToString(p.checker.getTypeAtLocation(m) ?? p.checker.getUnknownType())}`;
      members.push(`  ${decl}${type};`);
    } else if (/^(get|set) /.test(text)) members.push(`  ${text.replace(/\s*\{[\s\S]*$/, '')};`);
    else if (/^constructor\s*\(/.test(text)) {
      members.push(`  ${text.replace(/\)\s*\{[\s\S]*$/, ')').replace(/\s+/g, ' ').replace(/\(\s+/, '(').replace(/,?\s*\)$/, ')')};`);
    }
  }
  const head = sf.text.slice(node.getStart(sf), node.members.pos).replace(/\s*\{\s*$/, '').trim();
  return `${stripExport(head)} {\n${members.join('\n')}\n}`;
}

/** The declaration text of an exported symbol, as it reads in the source. */
function signatureOf(p: TsProject, s: Symbol, node: Node, name: string): { kind: ApiKind; text: string } {
  const aliases = localAliases(node.getSourceFile().text);
  if (isFunctionDeclaration(node)) {
    const sigs = (s.declarations.map((d) => d.resolve(p.project)).filter((d): d is Node => d !== undefined && isFunctionDeclaration(d)))
      .map((d) => `${stripExport(headOf(d, isFunctionDeclaration(d) ? d.body : undefined))};`);
    return { kind: 'function', text: expand(sigs.join('\n'), aliases) };
  }
  if (isVariableDeclaration(node)) {
    const type = p.checker.getTypeOfSymbol(s);
    const t = type ? p.checker.typeToString(type) : 'unknown';
    const init = node.initializer?.getText(node.getSourceFile()) ?? '';
    // A number or bigint constant reads best as written (1n << 3n, or an
    // ioctl number as the kernel's header spells it: _IOW(KVMIO, 0x46, ...)).
    const literal = (/^[-\w\s<>|&()'"]+$/.test(init) || /^_IO[RW]{0,2}\([\w\s,]+\)$/.test(init)) && !/=>/.test(init) && init.length < 60;
    return { kind: 'const', text: expand(literal ? `const ${name} = ${init};` : `const ${name}: ${t};`, aliases) };
  }
  if (isClassDeclaration(node)) return { kind: 'class', text: classSignature(p, node) };
  if (isInterfaceDeclaration(node)) return { kind: 'interface', text: expand(stripExport(node.getText(node.getSourceFile())), aliases) };
  if (isTypeAliasDeclaration(node)) return { kind: 'type', text: expand(stripExport(node.getText(node.getSourceFile())), aliases) };
  return { kind: s.flags & SymbolFlags.Function ? 'function' : 'const', text: name };
}

/** The ```ts bodies of a doc comment's @example tags. */
function examplesOf(p: TsProject, s: Symbol): string[] {
  const out: string[] = [];
  for (const tag of s.getJsDocTags(p.checker)) {
    if (tag.name !== 'example' || !tag.text) continue;
    for (const m of tag.text.matchAll(/```ts\n([\s\S]*?)```/g)) out.push(m[1]!);
  }
  return out;
}

function lineOf(text: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** One module of the reference: every export of `entry`, grouped by defining file. */
export function apiModule(p: TsProject, entry: string): ApiModule {
  const groups = new Map<string, ApiSymbol[]>();
  for (const { name, symbol } of p.exportsOf(entry)) {
    const d = p.declarationOf(symbol);
    if (!d) continue;
    const sig = signatureOf(p, symbol, d.node, name);
    const sf = d.node.getSourceFile();
    const sym: ApiSymbol = {
      name,
      kind: sig.kind,
      signature: sig.text,
      doc: symbol.getDocumentationComment(p.checker).trim(),
      examples: examplesOf(p, symbol),
      file: d.file,
      line: lineOf(sf.text, d.node.getStart(sf)),
    };
    groups.set(d.file, [...(groups.get(d.file) ?? []), sym]);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([file, symbols]) => ({
    file,
    intro: firstParagraph(headerComment(p.sourceFile(file).text)),
    symbols: [...symbols].sort((x, y) => x.line - y.line),
  }));
  return { entry, intro: headerComment(p.sourceFile(entry).text), groups: ordered };
}
