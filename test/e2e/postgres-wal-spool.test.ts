import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The async archive mode without a server: `wal-push --async` acknowledges a
 * segment once it is durably in the spool, `wal drain` moves the spool into
 * the repository in one snapshot and empties it, and `wal-fetch` returns the
 * same bytes. Conflicting content under a spooled name is refused.
 */
let dir: string;
let cleanup: () => Promise<void>;
const PASSWORD = 'spool test password, long enough';
const lb = (args: string[]) =>
  runCli(['--config', path.join(dir, 'lifeboat.yaml'), ...args], { env: cliEnvFor(path.join(dir, 'cache'), PASSWORD) });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-spool-'));
  await writeFile(
    path.join(dir, 'lifeboat.yaml'),
    `version: 1\nstate_dir: ${dir}/state\nrepositories:\n  main:\n    url: ${dir}/repo\nsources:\n  db:\n    type: postgres\n    url: postgres://postgres@127.0.0.1:1/postgres\n    pitr:\n      wal: archive\n      spool_dir: ${dir}/spool\n`,
  );
  expect((await lb(['init', '--repo', 'main'])).code).toBe(0);
}, 120_000);

afterAll(async () => cleanup?.());

describe('wal-push --async and wal drain', () => {
  it('spools durably, drains into one snapshot, and fetches back the same bytes', async () => {
    const names = ['000000010000000000000003', '000000010000000000000004', '00000002.history'];
    const contents = new Map<string, Buffer>();
    for (const n of names) {
      const content = n.endsWith('.history')
        ? Buffer.from('1\t0/4000000\tno recovery target specified\n')
        : randomBytes(1024 * 1024);
      contents.set(n, content);
      await writeFile(path.join(dir, n), content);
      const r = await lb(['wal-push', '--async', '--source', 'db', path.join(dir, n)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/spooled/);
    }
    // The same content again is acknowledged; different content under a spooled name is refused.
    expect((await lb(['wal-push', '--async', '--source', 'db', path.join(dir, names[0]!)])).stdout).toMatch(
      /already spooled/,
    );
    const changed = path.join(dir, 'changed');
    await (await import('node:fs/promises')).mkdir(changed);
    await writeFile(path.join(changed, names[0]!), randomBytes(1024));
    const conflict = await lb(['wal-push', '--async', '--source', 'db', path.join(changed, names[0]!)]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/never overwritten/);
    expect((await readdir(path.join(dir, 'spool'))).sort()).toEqual([...names].sort());

    const drain = await lb(['--json', 'wal', 'drain', '--source', 'db']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(JSON.parse(drain.stdout.trim().split('\n').pop()!)).toMatchObject({ stored: 3, alreadyArchived: 0 });
    expect(await readdir(path.join(dir, 'spool'))).toEqual([]);
    expect((await lb(['wal', 'drain', '--source', 'db'])).stdout).toMatch(/nothing spooled/);

    // A second batch, so that a keep-last 1 policy would have an older WAL snapshot to remove: forget must leave archived WAL alone.
    const later = path.join(dir, '000000020000000000000005');
    await writeFile(later, randomBytes(4096));
    expect((await lb(['wal-push', '--async', '--source', 'db', later])).code).toBe(0);
    expect((await lb(['wal', 'drain', '--source', 'db'])).code).toBe(0);
    const forget = await lb(['forget', '--keep-last', '1']);
    expect(forget.stdout).toMatch(/nothing to do/);
    expect(forget.stdout).not.toMatch(/removed/);

    for (const n of names) {
      const out = path.join(dir, `fetched-${n}`);
      const r = await lb(['wal-fetch', '--source', 'db', n, out]);
      expect(r.code, r.stderr).toBe(0);
      expect(Buffer.compare(await readFile(out), contents.get(n)!)).toBe(0);
    }
    const missing = await lb(['wal-fetch', '--source', 'db', '000000010000000000000009', path.join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(existsSync(path.join(dir, 'nope'))).toBe(false);
  }, 300_000);
});
