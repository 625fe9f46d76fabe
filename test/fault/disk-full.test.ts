import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir } from '../helpers/cli.js';

/**
 * A repository on a full disk: the backup fails non-zero, saves no snapshot,
 * and the snapshots taken before still restore. The repository lives on a
 * 6 MiB tmpfs mounted by the test (the suite runs as root, as CI does).
 */
describe('disk full on the repository', () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let mount: string;
  const env = (cache: string) => ({ LIFEBOAT_PASSWORD: 'disk-full-test', LIFEBOAT_CACHE_DIR: cache });

  beforeAll(async () => {
    expect(process.getuid?.(), 'this test mounts a tmpfs and must run as root (as CI does)').toBe(0);
    work = await tempDir('lifeboat-diskfull-');
    mount = path.join(work.dir, 'small-disk');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mount]);
  });

  afterAll(async () => {
    try {
      execFileSync('umount', [mount]);
    } finally {
      await work.cleanup();
    }
  });

  it('fails without a snapshot and keeps earlier snapshots restorable', async () => {
    const repo = path.join(mount, 'repo');
    const cache = path.join(work.dir, 'cache');
    const data = path.join(work.dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'small.txt'), 'the first backup fits\n'.repeat(100));
    expect((await runCli(['init', '--repo', repo], { env: env(cache) })).code).toBe(0);
    const first = await runCli(['--json', 'backup', '--repo', repo, data], { env: env(cache) });
    expect(first.code).toBe(0);

    // 20 MiB of incompressible data cannot fit on a 6 MiB disk.
    writeFileSync(path.join(data, 'big.bin'), randomBytes(20 * 1024 * 1024));
    const full = await runCli(['--json', 'backup', '--repo', repo, data], { env: env(cache) });
    expect(full.code).not.toBe(0);
    expect(full.code).not.toBe(3);
    expect(lastJson<{ type: string; error: { message: string } }>(full.stdout).type).toBe('error');
    expect(full.stdout + full.stderr).toMatch(/full|ENOSPC|space/i);

    const list = await runCli(['--json', 'snapshots', '--repo', repo], { env: env(cache) });
    expect(list.code).toBe(0);
    const snapshots = JSON.parse(list.stdout).snapshots as Array<{ id: string }>;
    expect(snapshots.map((s) => s.id)).toEqual([lastJson<{ snapshot: { id: string } }>(first.stdout).snapshot.id]);

    const target = path.join(work.dir, 'restore');
    const restored = await runCli(['restore', 'latest', '--repo', repo, '--target', target], { env: env(cache) });
    expect(restored.code).toBe(0);
    expect(readFileSync(path.join(target, data, 'small.txt'), 'utf8')).toBe('the first backup fits\n'.repeat(100));
  });
});
