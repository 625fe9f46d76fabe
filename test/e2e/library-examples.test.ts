import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';

/**
 * Every ```js / ```ts example of docs/library.md, run as a program against the
 * BUILT package: a temporary project whose node_modules/lifeboat is a link to
 * this tree (so `import … from 'lifeboat'` goes through package.json's
 * "exports" to dist/index.js), plus better-sqlite3, which the examples' "app"
 * uses. Each example must exit 0.
 */
const doc = readFileSync(path.join(ROOT, 'docs/library.md'), 'utf8');
const examples = [...doc.matchAll(/^## (.+)$|^```(js|ts)\n([\s\S]*?)^```$/gm)]
  .reduce<Array<{ title: string; lang: string; code: string }>>((acc, m) => {
    if (m[1]) acc.push({ title: m[1], lang: '', code: '' });
    else if (acc.length) acc.push({ title: acc[acc.length - 1]!.title, lang: m[2]!, code: m[3]! });
    return acc;
  }, [])
  .filter((e) => e.code);

describe('docs/library.md examples against the built package', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-library-examples-'));
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'example-app', private: true, type: 'module' }),
    );
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules', 'lifeboat'));
    symlinkSync(path.join(ROOT, 'node_modules', 'better-sqlite3'), path.join(dir, 'node_modules', 'better-sqlite3'));
  });
  afterAll(async () => cleanup());

  it('has the examples the docs promise', () => {
    expect(examples.map((e) => e.title)).toEqual([
      'Back up, list, read and restore',
      "A pre-migration guard in the application's migration script",
      "Backing up the application's SQLite file on a schedule, inside the application",
    ]);
  });

  it.each(examples.map((e, i) => [i + 1, e.title, e] as const))(
    'example %i (%s) runs',
    (i, _title, e) => {
      const file = path.join(dir, `example-${i}.${e.lang === 'ts' ? 'mts' : 'mjs'}`);
      writeFileSync(file, e.code);
      const args = e.lang === 'ts' ? [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), file] : [file];
      const r = spawnSync(process.execPath, args, {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, LIFEBOAT_CONFIG: undefined, LIFEBOAT_PASSWORD: undefined },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    },
    150_000,
  );
});
