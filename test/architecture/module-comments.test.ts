import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * Where a file's description goes. A file that describes itself starts with a
 * `/** … @module *\/` block, before its imports and followed by a blank line:
 * that is what TypeDoc reads as the module's comment (it looks only at the
 * comments before the file's first token, and only at one tagged `@module` or
 * `@packageDocumentation`). A `/** … *\/` anywhere else documents the
 * declaration right after it, so a file's description written after the
 * imports would be shown as the first export's documentation.
 *
 * The rules this test holds every .ts file under src/ to:
 * - a JSDoc block before the first import is the module comment: it carries
 *   `@module` (untagged, tools attach it to the import);
 * - a `@module` block is the file's first comment (after a `#!` line), there is
 *   one at most, and a blank line follows it;
 * - no top-level statement has two JSDoc blocks before it (the first would be
 *   a description attached to nothing, typically a lost module comment).
 * What it cannot tell is whether a single JSDoc block after the imports
 * describes the file or the declaration below it; write a file's description
 * at the top, as above.
 */

const SRC = path.join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return /\.(c|m)?ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const isJsdoc = (text: string, c: ts.CommentRange) => text.startsWith('/**', c.pos) && !text.startsWith('/**/', c.pos);
const isModuleComment = (comment: string) => /@module\b|@packageDocumentation\b/.test(comment);

/** What is wrong with where one file's comments sit, as messages naming the file and line. */
function moduleCommentProblems(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const where = (pos: number) => `${file}:${sf.getLineAndCharacterOfPosition(pos).line + 1}`;
  const problems: string[] = [];
  const statements = sf.statements;
  const firstToken = statements[0]?.getStart(sf) ?? text.length;
  const shebang = ts.getShebang(text);
  const headerStart = shebang ? shebang.length : 0;
  const header = ts.getLeadingCommentRanges(text, headerStart) ?? [];

  // Every JSDoc block tagged as the module's, before any top-level statement or the end of the file.
  const tagged: ts.CommentRange[] = [];
  const seen = new Set<number>();
  for (const at of [headerStart, ...statements.map((s) => s.getFullStart()), sf.endOfFileToken.getFullStart()]) {
    for (const c of ts.getLeadingCommentRanges(text, at) ?? []) {
      if (seen.has(c.pos)) continue;
      seen.add(c.pos);
      if (isJsdoc(text, c) && isModuleComment(text.slice(c.pos, c.end))) tagged.push(c);
    }
  }

  if (tagged.length > 1)
    problems.push(`${where(tagged[1]!.pos)}: a second @module comment (a file has one description)`);
  for (const c of tagged) {
    if (c.pos !== header[0]?.pos || c.end > firstToken)
      problems.push(`${where(c.pos)}: the @module comment must be the first thing in the file, before the imports`);
    else if (!/^\r?\n\r?\n/.test(text.slice(c.end)))
      problems.push(`${where(c.pos)}: a blank line must follow the @module comment`);
  }

  const first = statements[0];
  if (first && ts.isImportDeclaration(first)) {
    for (const c of header) {
      if (isJsdoc(text, c) && !isModuleComment(text.slice(c.pos, c.end))) {
        problems.push(
          `${where(c.pos)}: a JSDoc block before the imports describes the file: tag it @module (untagged, it documents the import)`,
        );
      }
    }
  }

  for (const statement of statements) {
    const docs = (ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? []).filter(
      (c) => isJsdoc(text, c) && !isModuleComment(text.slice(c.pos, c.end)),
    );
    if (docs.length > 1) {
      problems.push(
        `${where(docs[0]!.pos)}: two JSDoc blocks before one statement; a file's description goes at the top as a @module comment, the other documents the statement`,
      );
    }
  }
  return problems;
}

describe('module comments', () => {
  it('every file under src/ puts its description at the top, tagged @module, and no JSDoc block is left attached to nothing', () => {
    const files = tsFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) => moduleCommentProblems(path.relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(problems).toEqual([]);
  });

  // The checker itself, on small files: each rule must be able to fail.
  it('accepts a tagged description at the top, and plain declaration docs', () => {
    expect(
      moduleCommentProblems(
        'ok.ts',
        `/**\n * What this file is.\n *\n * @module\n */\n\nimport x from 'x';\n\n/** The answer. */\nexport const a = x;\n`,
      ),
    ).toEqual([]);
    expect(
      moduleCommentProblems(
        'shebang.ts',
        `#!/usr/bin/env node\n/**\n * The command.\n *\n * @module\n */\n\nimport x from 'x';\nx();\n`,
      ),
    ).toEqual([]);
    expect(
      moduleCommentProblems('plain.ts', `import x from 'x';\n\n/** The answer. */\nexport const a = x;\n`),
    ).toEqual([]);
  });

  it('refuses an untagged description before the imports, a misplaced or doubled @module, no blank line, and stacked blocks', () => {
    expect(moduleCommentProblems('a.ts', `/** What this file is. */\nimport x from 'x';\nx();\n`)).toEqual([
      expect.stringContaining('a.ts:1: a JSDoc block before the imports'),
    ]);
    expect(
      moduleCommentProblems(
        'b.ts',
        `import x from 'x';\n\n/**\n * What this file is.\n * @module\n */\n\nexport const a = x;\n`,
      ),
    ).toEqual([expect.stringContaining('b.ts:3: the @module comment must be the first thing')]);
    expect(moduleCommentProblems('c.ts', `/** One. @module */\n\n/** Two. @module */\nexport const a = 1;\n`)).toEqual([
      expect.stringContaining('c.ts:3: a second @module comment'),
      expect.stringContaining('c.ts:3: the @module comment must be the first thing'),
    ]);
    expect(moduleCommentProblems('d.ts', `/** What this file is. @module */\nimport x from 'x';\nx();\n`)).toEqual([
      expect.stringContaining('d.ts:1: a blank line must follow'),
    ]);
    expect(
      moduleCommentProblems(
        'e.ts',
        `import x from 'x';\n\n/** What this file is. */\n\n/** The answer. */\nexport const a = x;\n`,
      ),
    ).toEqual([expect.stringContaining('e.ts:3: two JSDoc blocks before one statement')]);
  });
});
