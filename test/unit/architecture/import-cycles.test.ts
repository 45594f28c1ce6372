import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// The module graph of src/ must be acyclic: a cycle means two modules are one
// concept split in two (or a shared concept living in the wrong one), and ESM
// evaluates a cycle's modules in an order that depends on which one is
// imported first. Every static `import`, `import type` and `export … from` of
// a relative path is an edge. A dynamic `import()` is not: the composition
// roots (main.ts, the CLI's commands, start-policy-source.ts,
// create-certificate-source.ts) load Kubernetes adapters lazily, so that runs
// without a cluster never load the client; such an import is still held to the
// @kubernetes/client-node rule below.

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const KUBE_CLIENT = '@kubernetes/client-node';
/** The only folder that may import the Kubernetes client (README, Layout). */
const KUBE_FOLDER = 'kube/';

interface ModuleImports {
  /** Specifiers of static imports and re-exports, type-only included. */
  static: string[];
  /** Specifiers of `import()` expressions with a string literal. */
  dynamic: string[];
  /** Every specifier, relative or not. */
  all: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function importsOf(file: string): ModuleImports {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ModuleImports = { static: [], dynamic: [], all: [] };
  for (const statement of source.statements) {
    const specifier =
      ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)
        ? statement.moduleSpecifier
        : ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)
          ? statement.moduleReference.expression
          : undefined;
    if (specifier && ts.isStringLiteral(specifier)) found.static.push(specifier.text);
  }
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.dynamic.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  found.all = [...found.static, ...found.dynamic];
  return found;
}

/** The src/ file a relative ESM specifier ('./x.js') names, as a path relative to src/. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  const candidates = [target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')];
  const file = candidates.find((c) => c.endsWith('.ts') && existsSync(c));
  return file === undefined ? undefined : relative(SRC, file).split(sep).join('/');
}

const files = sourceFiles(SRC).sort();
const imports = new Map(files.map((f) => [relative(SRC, f).split(sep).join('/'), importsOf(f)]));

/** module → the src/ modules it imports statically. */
const graph = new Map<string, string[]>();
const unresolved: string[] = [];
for (const [module, found] of imports) {
  const targets = new Set<string>();
  for (const specifier of found.static.filter((s) => s.startsWith('.'))) {
    const target = resolveRelative(join(SRC, module), specifier);
    if (target === undefined) {
      // Imports that leave src/ (none today) are not part of the graph; an
      // import of a missing file is a typecheck error, reported here too.
      if (!resolve(dirname(join(SRC, module)), specifier).startsWith(SRC)) continue;
      unresolved.push(`${module}: ${specifier}`);
    } else targets.add(target);
  }
  graph.set(module, [...targets].sort());
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function tangles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/**
 * For each module of a tangle, the shortest cycle through it, deduplicated:
 * every module of every tangle appears in at least one reported path, and
 * each path is a real chain of imports that has to be broken.
 */
function cycles(): string[] {
  const paths = new Set<string>();
  for (const component of tangles()) {
    const members = new Set(component);
    for (const start of component) {
      const previous = new Map<string, string>();
      const queue = [start];
      let closing: string | undefined;
      while (queue.length > 0 && closing === undefined) {
        const v = queue.shift()!;
        for (const w of graph.get(v) ?? []) {
          if (!members.has(w)) continue;
          if (w === start) {
            closing = v;
            break;
          }
          if (!previous.has(w)) {
            previous.set(w, v);
            queue.push(w);
          }
        }
      }
      const path = [start];
      for (let v = closing!; v !== start; v = previous.get(v)!) path.splice(1, 0, v);
      // Rotate so the same cycle found from another module reads the same.
      const first = path.indexOf([...path].sort()[0]!);
      const rotated = [...path.slice(first), ...path.slice(0, first)];
      paths.add([...rotated, rotated[0]].map((m) => `src/${m}`).join(' → '));
    }
  }
  return [...paths].sort();
}

describe('the src/ module graph', () => {
  it('reads the sources', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(unresolved).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it(`imports ${KUBE_CLIENT} only under src/${KUBE_FOLDER}`, () => {
    const outside = [...imports]
      .filter(([module, found]) => !module.startsWith(KUBE_FOLDER) && found.all.some((s) => s === KUBE_CLIENT || s.startsWith(`${KUBE_CLIENT}/`)))
      .map(([module]) => module);
    expect(outside).toEqual([]);
  });
});
