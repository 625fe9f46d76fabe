import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { openRepo } from '../helpers/repo-lib.js';
import { seal } from '../../src/repository/crypto/index.js';
import { hasTombstone } from '../../src/repository/tombstone.js';

/**
 * `stats`, `tag` and `unlock` as a user runs them, on a real local repository:
 * stats figures against data whose sizes and duplicates are known, tag changes
 * seen through `snapshots` (new ids, the old ones tombstoned), and unlock
 * removing a stale lock while leaving a live one alone.
 */
describe('stats, tag and unlock', () => {
  const PASSWORD = 'a long repository passphrase';
  const SIZE = 256 * 1024;
  let dir: string;
  let repo: string;
  let data: string;
  let cleanup: () => Promise<void>;
  const lb = (args: string[]) =>
    runCli(['--repo', repo, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), PASSWORD, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const ok = async (args: string[]) => {
    const r = await lb(args);
    expect(r.code, show(r)).toBe(0);
    return r;
  };
  const listed = async () =>
    (JSON.parse((await ok(['--json', 'snapshots'])).stdout) as { snapshots: Array<{ id: string; tags: string[] }> })
      .snapshots;
  const summary = <T>(r: CliResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-everyday-'));
    repo = path.join(dir, 'repo');
    data = path.join(dir, 'data');
    mkdirSync(data);
    // Random (incompressible) content, twice under two names: one copy stored, two restored.
    const content = randomBytes(SIZE);
    writeFileSync(path.join(data, 'one.bin'), content);
    writeFileSync(path.join(data, 'two.bin'), content);
    await ok(['init']);
    await ok(['backup', data, '--tag', 'first']);
  });
  afterAll(() => cleanup());

  it('stats: two identical files count twice raw, once unique, and give a deduplication ratio of 2', async () => {
    const r = await ok(['--json', 'stats']);
    type Figures = { rawBytes: number; uniqueBytes: number; storedBytes: number; files: number; dedupRatio: number };
    const s = summary<{
      repository: { areas: Record<string, { objects: number; bytes: number }>; totalBytes: number };
      selection: Figures & { snapshots: number };
      sources: Array<Figures & { source: string | null }>;
      snapshots: Array<Figures & { id: string }>;
    }>(r);
    expect(s.selection).toMatchObject({ snapshots: 1, files: 2, rawBytes: 2 * SIZE, uniqueBytes: SIZE });
    expect(s.selection.dedupRatio).toBe(2);
    // Sealed: a little more than the content (random data does not compress), never less.
    expect(s.selection.storedBytes).toBeGreaterThan(SIZE);
    expect(s.selection.storedBytes).toBeLessThan(SIZE * 1.05);
    expect(s.sources).toEqual([expect.objectContaining({ source: null, rawBytes: 2 * SIZE, uniqueBytes: SIZE })]);
    // The area sizes are the objects in storage, byte for byte.
    const packs = readdirSync(path.join(repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) =>
      e.isFile(),
    );
    expect(s.repository.areas.data!.objects).toBe(packs.length);
    const packBytes = packs.reduce((n, e) => n + statSync(path.join(e.parentPath, e.name)).size, 0);
    expect(s.repository.areas.data!.bytes).toBe(packBytes);

    // A second snapshot of the same data adds nothing unique: the ratio over both doubles.
    await ok(['backup', data, '--tag', 'second']);
    const both = summary<{ selection: Figures; snapshots: Array<Figures> }>(await ok(['--json', 'stats']));
    expect(both.selection).toMatchObject({ rawBytes: 4 * SIZE, uniqueBytes: SIZE, dedupRatio: 4 });
    expect(both.snapshots.map((x) => x.rawBytes)).toEqual([2 * SIZE, 2 * SIZE]);
    const text = await ok(['stats', '--tag', 'second']);
    expect(text.stdout).toMatch(/selection\s+1\s+2\s+512 KiB\s+256 KiB\s+2\d\d(\.\d)? KiB\s+2\.00x/);
    const none = await lb(['stats', '--tag', 'no-such-tag']);
    expect(none.code, show(none)).toBe(1);
    expect(none.stderr).toMatch(/no snapshot matches/);
  });

  it('tag --add/--remove/--set replace the snapshot with one of a new id; the old one is tombstoned', async () => {
    const before = await listed();
    const second = before.find((s) => s.tags.includes('second'))!;
    const added = summary<{ changed: Array<{ snapshot: string; replacedBy: string; tagsAfter: string[] }> }>(
      await ok(['--json', 'tag', second.id.slice(0, 10), '--add', 'keep,audit']),
    );
    expect(added.changed).toEqual([
      expect.objectContaining({ snapshot: second.id, tagsAfter: ['audit', 'keep', 'second'] }),
    ]);
    let now = await listed();
    expect(now.map((s) => s.id)).not.toContain(second.id);
    expect(now.find((s) => s.id === added.changed[0]!.replacedBy)!.tags).toEqual(['audit', 'keep', 'second']);

    const removed = summary<{ changed: Array<{ replacedBy: string }> }>(
      await ok(['--json', 'tag', '--tag', 'audit', '--remove', 'audit']),
    );
    now = await listed();
    expect(now.find((s) => s.id === removed.changed[0]!.replacedBy)!.tags).toEqual(['keep', 'second']);

    // No snapshot argument: every snapshot matching the filters (here both).
    const set = summary<{ changed: unknown[]; unchanged: unknown[] }>(
      await ok(['--json', 'tag', '--host', os.hostname(), '--set', 'weekly']),
    );
    expect(set.changed).toHaveLength(2);
    now = await listed();
    expect(now.map((s) => s.tags)).toEqual([['weekly'], ['weekly']]);
    // Setting what is already there writes nothing and says so.
    const again = await ok(['tag', now[0]!.id, '--set', 'weekly']);
    expect(again.stdout).toMatch(/0 snapshot\(s\) retagged, 1 already as asked/);
    expect((await listed()).map((s) => s.id)).toEqual(now.map((s) => s.id));

    // The replaced snapshots are gone the safe way, and the data is still there for the new ones.
    const r = await openRepo(repo, PASSWORD);
    try {
      expect(await hasTombstone(r, second.id)).toBe(true);
      const newest = (await r.listSnapshots()).snapshots.at(-1)! as { original?: string };
      expect(newest.original).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await r.close();
    }
    const check = await lb(['check']);
    expect(check.code, show(check)).toBe(0);

    expect((await lb(['tag', 'latest', '--set', 'a', '--add', 'b'])).code).toBe(2);
    expect((await lb(['tag', 'latest'])).code).toBe(2);
    expect((await lb(['tag', '--add', 'x'])).code).toBe(2);
  });

  it('tag refuses on a repository it cannot write, and changes nothing', async () => {
    expect(process.getuid?.(), 'this test bind-mounts the repository read-only and must run as root').toBe(0);
    const ro = path.join(dir, 'read-only');
    mkdirSync(ro);
    execFileSync('mount', ['--bind', repo, ro]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
      const before = await listed();
      const r = await runCli(['--repo', ro, '--json', 'tag', 'latest', '--add', 'nope'], {
        env: cliEnvFor(path.join(dir, 'cache-ro'), PASSWORD, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') }),
      });
      expect(r.code, show(r)).toBe(1);
      expect(summary<{ error: { code: string; message: string } }>(r).error).toMatchObject({ code: 'refused' });
      expect(await listed()).toEqual(before);
    } finally {
      execFileSync('umount', [ro]);
    }
  });

  it('unlock removes a stale lock and leaves a live one alone; --remove-all removes both with a warning', async () => {
    const r = await openRepo(repo, PASSWORD);
    const put = async (name: string, record: object) =>
      r.storage.put(`locks/${name}`, seal(r.keys.encryption, 'lock', Buffer.from(JSON.stringify(record))));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has ended
    const base = { host: os.hostname(), username: 'test', exclusive: false, purpose: 'backup' };
    try {
      await put('a'.repeat(64), { ...base, pid: dead, time: new Date().toISOString() });
      await put('b'.repeat(64), { ...base, pid: process.pid, time: new Date().toISOString() });
      // Another host's lock not refreshed for an hour: stale by age.
      await put('c'.repeat(64), {
        ...base,
        host: 'elsewhere',
        pid: 1,
        time: new Date(Date.now() - 3600_000).toISOString(),
      });
    } finally {
      await r.close();
    }
    const first = summary<{
      removed: Array<{ name: string; state: string }>;
      kept: Array<{ name: string; state: string; holder: { pid: number } }>;
    }>(await ok(['--json', 'unlock']));
    expect(first.removed.map((l) => [l.name, l.state]).sort()).toEqual([
      [`locks/${'a'.repeat(64)}`, 'stale'],
      [`locks/${'c'.repeat(64)}`, 'stale'],
    ]);
    expect(first.kept).toEqual([
      expect.objectContaining({
        name: `locks/${'b'.repeat(64)}`,
        state: 'live',
        holder: expect.objectContaining({ pid: process.pid }),
      }),
    ]);
    expect(readdirSync(path.join(repo, 'locks'))).toEqual(['b'.repeat(64)]);

    const text = await ok(['unlock']);
    expect(text.stdout).toMatch(/removed 0 lock\(s\); 1 live lock\(s\) left alone/);
    const all = await ok(['unlock', '--remove-all']);
    expect(all.stderr).toMatch(/warning: removing every lock, live ones too/);
    expect(all.stdout).toMatch(/removed live shared lock b{8}: backup by pid \d+/);
    expect(readdirSync(path.join(repo, 'locks'))).toEqual([]);
    expect((await ok(['unlock'])).stdout).toMatch(/no locks: nothing to remove/);
  });
});
