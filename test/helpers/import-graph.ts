/**
 * The import graph of a TypeScript source tree, read with the TypeScript compiler's parser (no
 * type checking), and its cycles. Relative imports and re-exports are edges; a specifier
 * resolves like Node/TypeScript: `x.ts`, then `x/index.ts`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** Every .ts file under `root`, recursively. */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolve(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** The relative modules `file` imports or re-exports (type-only ones too: `import type` included). */
export function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out = new Set<string>();
  for (const statement of source.statements) {
    const spec = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : undefined;
    if (spec === undefined || !spec.startsWith('.')) continue;
    const target = resolve(file, spec);
    if (target === undefined) throw new Error(`${file}: cannot resolve import '${spec}'`);
    out.add(target);
  }
  return [...out];
}

/** The graph of every .ts file under `root`: file -> files it imports. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of sourceFiles(root)) graph.set(f, importsOf(f));
  return graph;
}

/** One cycle through each strongly connected component with more than one module (or a self-import), as paths relative to `root`. */
export function importCycles(graph: Map<string, string[]>, root: string): string[][] {
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(c);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components.map((c) => c.map((f) => path.relative(root, f)).sort());
}
