import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * The repository stands alone: no tracked file points to a document that is not
 * in it (a section of an outside specification, a sibling checkout) or to a
 * path of the machine it was written on. The contract such a reference stood
 * for belongs in docs/. The patterns are written as regular expressions so
 * that this file does not match itself.
 *
 * @module
 */

const FORBIDDEN: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /\bSPEC\s*§/, why: 'a section of a specification outside the repository' },
  { pattern: /\.\.\/shared\//, why: 'a sibling directory outside the repository' },
  { pattern: /(^|[^\w.~-])\/work\//, why: 'an absolute path of a development machine' },
  { pattern: /\/tmp\/studio\b/, why: 'an absolute path of a development machine' },
];

/** Tracked files as git lists them, without the binary ones (a NUL in the first 8 KiB). */
function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out
    .split('\0')
    .filter((f) => f !== '' && existsSync(path.join(ROOT, f)))
    .filter((f) => {
      const head = readFileSync(path.join(ROOT, f)).subarray(0, 8192);
      return !head.includes(0);
    });
}

function findings(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { pattern, why } of FORBIDDEN)
      if (pattern.test(line)) out.push(`${file}:${i + 1}: ${why}: ${line.trim().slice(0, 160)}`);
  });
  return out;
}

describe('self-contained repository', () => {
  it('no tracked text file points outside the repository', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) => findings(f, readFileSync(path.join(ROOT, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('the patterns catch what they are meant to, and leave ordinary text alone', () => {
    const spec = ['SPEC', '§4.2'].join(' ');
    expect(findings('a.md', `as ${spec} says`)).toHaveLength(1);
    expect(findings('b.ts', `import x from '..${'/shared/'}x.js';`)).toHaveLength(1);
    expect(findings('c.md', `see ${'/wo'}rk/main/docs`)).toHaveLength(1);
    expect(findings('d.md', `written to ${'/tmp/stu'}dio/x`)).toHaveLength(1);
    expect(findings('e.md', 'repository-format.md §5, a specification of the format, /srv/work/x, ~/work/y')).toEqual(
      [],
    );
  });
});
