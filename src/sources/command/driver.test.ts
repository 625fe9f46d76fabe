import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { backup } from '../../archiver/backup.js';
import { childOutput } from '../child-process.js';
import { spawnSync } from 'node:child_process';
import { describeSourceConformance } from '../testing/source-suite.js';

const TOKEN = 'tok-3f9a1c77e0b2-secret';

describeSourceConformance('command', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-cmd-'));
  process.env.LIFEBOAT_TEST_TOKEN = TOKEN;
  let n = 0;
  return {
    // The token reaches the command through its environment; the script only names the variable.
    config: { type: 'command', backup: 'test -n "$LIFEBOAT_TEST_TOKEN" && seq 1 300000 && echo done' },
    secrets: [TOKEN],
    restoreTarget: async () => ({ toFile: path.join(dir, `restored-${++n}.out`) }),
    unreachable: { type: 'command', backup: 'echo half a dump; echo "connection refused" >&2; exit 3' },
    recordedFields: ['bytes', 'sha256', 'exitStatus'],
    cleanup: async () => {
      delete process.env.LIFEBOAT_TEST_TOKEN;
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('command source', () => {
  let work: string;
  let repo: Repository;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-cmd-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  });
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  it('feeds the stored output to the restore command on standard input', async () => {
    const out = path.join(work, 'fed.txt');
    const config = { type: 'command' as const, backup: 'printf "alpha\\nbeta\\n"', restore: `cat > '${out}'` };
    const { snapshot, record } = await backupSource(repo, 'fed', config);
    expect(record).toMatchObject({ bytes: 11, exitStatus: 0 });
    const result = await restoreSource(repo, snapshot, { config });
    expect(await readFile(out, 'utf8')).toBe('alpha\nbeta\n');
    expect(result.checks.every((c) => c.ok)).toBe(true);
  });

  it('gives the restore command a file when its template names {file}', async () => {
    const out = path.join(work, 'copied.txt');
    const config = { type: 'command' as const, backup: 'echo snapshot-bytes', restore: `cp {file} '${out}'` };
    const { snapshot } = await backupSource(repo, 'file-template', config);
    await restoreSource(repo, snapshot, { config });
    expect(await readFile(out, 'utf8')).toBe('snapshot-bytes\n');
  });

  it('reports a failing restore command with its error output', async () => {
    const config = {
      type: 'command' as const,
      backup: 'echo x',
      restore: 'cat >/dev/null; echo "vault sealed" >&2; exit 2',
    };
    const { snapshot } = await backupSource(repo, 'bad-restore', config);
    const err = await expectCode(restoreSource(repo, snapshot, { config }), ErrorCode.SourceFailed);
    expect(err.message).toContain('vault sealed');
  });

  it('fails a command that runs longer than its timeout', async () => {
    const config = { type: 'command' as const, backup: 'sleep 5', timeout: '1s' };
    const err = await expectCode(backupSource(repo, 'slow', config), ErrorCode.SourceFailed);
    expect(err.message).toContain('timed out');
  });

  it('stops every other input of a backup when one stream fails, leaving no process behind', async () => {
    const marker = `sleep 3${process.pid % 10}.${process.pid % 997}`; // a command line no other process has
    const started = Date.now();
    const failing = backup(repo, {
      paths: [],
      streams: [
        {
          kind: 'stream',
          path: '/command/fails.out',
          open: (signal) =>
            childOutput({
              label: 'fails',
              command: '/bin/sh',
              args: ['-c', 'sleep 0.3; echo broken >&2; exit 4'],
              signal,
            }),
        },
        {
          kind: 'stream',
          path: '/command/slow.out',
          open: (signal) => childOutput({ label: 'slow', command: '/bin/sh', args: ['-c', marker], signal }),
        },
      ],
    });
    await expectCode(failing, ErrorCode.SourceFailed);
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 200));
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    expect(ps.includes(marker), 'the slow producer was stopped').toBe(false);
  });

  it('starts no command when the backup was interrupted before its inputs were opened', async () => {
    const marker = path.join(work, 'started-after-abort');
    const stop = new AbortController();
    stop.abort(); // as when SIGTERM arrives while the repository is being locked and read
    await expectCode(
      backupSource(repo, 'late', { type: 'command', backup: `touch '${marker}'; sleep 30` }, { signal: stop.signal }),
      ErrorCode.Interrupted,
    );
    // Give a wrongly started command ample time to leave its mark.
    await new Promise((r) => setTimeout(r, 1000));
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });

  it('never hands the repository password to the command', async () => {
    process.env.LIFEBOAT_PASSWORD = 'repo-password-must-not-leak';
    try {
      const config = { type: 'command' as const, backup: 'echo "[$LIFEBOAT_PASSWORD]"' };
      const { snapshot } = await backupSource(repo, 'env', config);
      const out = path.join(work, 'env.out');
      await restoreSource(repo, snapshot, { toFile: out });
      expect(await readFile(out, 'utf8')).toBe('[]\n');
    } finally {
      delete process.env.LIFEBOAT_PASSWORD;
    }
  });

  // Node gives a child a socket as standard output; opening /dev/stdout by name fails there with ENXIO.
  it.each([
    ['a redirection to /dev/stdout', (f: string) => `cat '${f}' > /dev/stdout`],
    ['a tool that opens /dev/stdout by path', (f: string) => `dd if='${f}' of=/dev/stdout bs=64k status=none`],
    ['a pipeline whose last command opens /dev/stdout', (f: string) => `cat '${f}' | sh -c 'cat > /dev/stdout'`],
  ])('stores what a command writes to /dev/stdout: %s', async (_label, script) => {
    const input = path.join(work, 'raft.snap');
    await writeFile(input, Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    const config = { type: 'command' as const, backup: script(input) };
    const { snapshot, record } = await backupSource(repo, 'devstdout', config);
    expect(record).toMatchObject({ bytes: 3 * 1024 * 1024 + 17 });
    const out = path.join(work, `devstdout-${snapshot.id.slice(0, 8)}.out`);
    await restoreSource(repo, snapshot, { toFile: out });
    expect((await readFile(out)).equals(await readFile(input))).toBe(true);
  });

  it('gives the backup command a file to write when its template names {file}', async () => {
    // A writer that seeks: the bytes at the end first, then the start.
    const config = {
      type: 'command' as const,
      backup: `printf tail | dd of={file} bs=1 seek=4 status=none && printf head | dd of={file} bs=1 conv=notrunc status=none`,
    };
    const { snapshot, record } = await backupSource(repo, 'seeking', config);
    expect(record).toMatchObject({ bytes: 8 });
    const out = path.join(work, 'seeking.out');
    await restoreSource(repo, snapshot, { toFile: out });
    expect(await readFile(out, 'utf8')).toBe('headtail');
  });

  it('fails a {file} backup command that writes no file, saving no snapshot', async () => {
    const before = (await repo.listSnapshots()).snapshots.length;
    const err = await expectCode(
      backupSource(repo, 'no-file', { type: 'command', backup: 'true {file}' }),
      ErrorCode.SourceFailed,
    );
    expect(err.message).toContain('wrote no file');
    expect((await repo.listSnapshots()).snapshots.length).toBe(before);
  });
});
