import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

/** LIFEBOAT_TRACE_TIMING=1 (docs/cli.md): phase lines on stderr, in order, and nothing secret. */

const PW = 'trace-timing secret passphrase 9f3c';

describe('LIFEBOAT_TRACE_TIMING', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-trace-'));
    mkdirSync(path.join(dir, 'data'));
    for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, 'data', `f${i}.txt`), `file ${i}\n`.repeat(200 * (i + 1)));
    env = {
      LIFEBOAT_PASSWORD: PW,
      LIFEBOAT_REPOSITORY: path.join(dir, 'repo'),
      LIFEBOAT_CACHE_DIR: path.join(dir, 'cache'),
      LIFEBOAT_CONFIG: undefined as unknown as string,
    };
    const init = await runCli(['init', '--quiet'], { env });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => cleanup());

  const phases = (stderr: string): string[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('lifeboat-trace '))
      .map((l) => l.replace(/^lifeboat-trace \d+ ms rss \d+ MB peak (\d+|\?) MB /, ''));

  it('prints the phases of a backup and a restore in order, without the password or paths', async () => {
    const backup = await runCli(['backup', path.join(dir, 'data'), '--quiet'], {
      env: { ...env, LIFEBOAT_TRACE_TIMING: '1' },
    });
    expect(backup.code, backup.stderr).toBe(0);
    const seen = phases(backup.stderr);
    const expected = [
      'modules loaded',
      'storage opened',
      'key unlocked',
      'repository opened',
      'lock taken',
      'index loaded',
      'walk done',
      'snapshot saved',
      'lock released',
      'repository closed',
      'command finished',
    ];
    expect(seen.filter((p) => expected.includes(p))).toEqual(expected);
    expect(backup.stderr).not.toContain(PW);
    expect(backup.stderr).not.toContain(dir);

    const restore = await runCli(['restore', 'latest', '--target', path.join(dir, 'out'), '--quiet'], {
      env: { ...env, LIFEBOAT_TRACE_TIMING: '1' },
    });
    expect(restore.code, restore.stderr).toBe(0);
    const restored = phases(restore.stderr);
    for (const p of ['key unlocked', 'restore planned', 'files restored', 'repository closed'])
      expect(restored).toContain(p);
    expect(restore.stderr).not.toContain(PW);
  });

  it('prints nothing when unset', async () => {
    const backup = await runCli(['backup', path.join(dir, 'data'), '--quiet'], { env });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).not.toContain('lifeboat-trace');
  });
});
