import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One relative import of one source file, both as paths relative to the project root. */
export interface ImportEdge {
  from: string;
  to: string;
}

const SOURCE = /\.(c|m)?ts$/;
const TEST = /\.test\.(c|m)?ts$/;

/** Every source file under `dir` (tests and declaration files left out), relative to `root`. */
export function sourceFiles(root: string, dir = 'src'): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (SOURCE.test(entry.name) && !TEST.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The relative imports of one file's text: static `import`/`export … from`, `import type`,
 * dynamic `import()` and `require()`, as the TypeScript compiler reads them. The `.js`/`.cjs`
 * suffix that ESM source carries is mapped back to the `.ts`/`.cts` file.
 */
export function relativeImports(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'))
    .map((name) => path.posix.normalize(path.posix.join(path.posix.dirname(file), name)))
    .map((target) =>
      target
        .replace(/\.js$/, '.ts')
        .replace(/\.cjs$/, '.cts')
        .replace(/\.mjs$/, '.mts'),
    );
}

/** The import graph of the source files under `src/` of the project at `root`. */
export function importGraph(root: string): ImportEdge[] {
  return sourceFiles(root).flatMap((from) =>
    relativeImports(from, readFileSync(path.join(root, from), 'utf8')).map((to) => ({ from, to })),
  );
}
