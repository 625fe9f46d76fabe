import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exitCodeFor,
  isLifeboatError,
  listFiles,
  openStorage,
  Repository,
  resolveSnapshot,
  type LifeboatError,
} from '../../src/index.js';
import { runCli, tempDir } from '../helpers/cli.js';

/**
 * A failure of the library carries the code `lifeboat --json` prints for the
 * same failure (and so the same exit code): the library and the built CLI are
 * given the same wrong password, missing repository and unknown snapshot.
 */
describe('the library fails with the codes of the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let repoDir: string;
  const password = 'the right passphrase';

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-lib-codes-'));
    repoDir = path.join(dir, 'repo');
    await (await Repository.init(await openStorage(repoDir, { create: true }), Buffer.from(password))).close();
  });
  afterAll(() => cleanup());

  const libraryFailure = async (work: () => Promise<unknown>): Promise<LifeboatError> => {
    const err = await work().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLifeboatError(err), `expected a LifeboatError, got ${String(err)}`).toBe(true);
    return err as LifeboatError;
  };
  const cliFailure = async (args: string[], pass: string) => {
    const r = await runCli(['--json', ...args], {
      env: { LIFEBOAT_PASSWORD: pass, LIFEBOAT_PASSWORD_FILE: undefined },
    });
    const line = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type?: string; error?: { code: string } })
      .find((j) => j.type === 'error');
    expect(line, `no JSON error line in:\n${r.stdout}\n${r.stderr}`).toBeDefined();
    return { code: line!.error!.code, exit: r.code };
  };
  const open = async (location: string, pass: string) =>
    Repository.open(await openStorage(location), { kind: 'password', password: Buffer.from(pass), source: 'test' });

  it('a wrong password', async () => {
    const lib = await libraryFailure(() => open(repoDir, 'not the password'));
    const cli = await cliFailure(['--repo', repoDir, 'snapshots'], 'not the password');
    expect(lib.code).toBe('wrong_password');
    expect(cli).toEqual({ code: lib.code, exit: exitCodeFor(lib.code) });
  });

  it('a repository that does not exist', async () => {
    const missing = path.join(dir, 'no-such-repo');
    const lib = await libraryFailure(() => open(missing, password));
    const cli = await cliFailure(['--repo', missing, 'snapshots'], password);
    expect(lib.code).toBe('repository_not_found');
    expect(cli).toEqual({ code: lib.code, exit: exitCodeFor(lib.code) });
  });

  it('a snapshot that does not exist', async () => {
    const repo = await open(repoDir, password);
    try {
      const lib = await libraryFailure(() => resolveSnapshot(repo, 'deadbeef'));
      const listing = await libraryFailure(async () => {
        for await (const entry of listFiles(repo, 'latest')) void entry;
      });
      const cli = await cliFailure(['--repo', repoDir, 'ls', 'deadbeef'], password);
      expect(lib.code).toBe('not_found');
      expect(listing.code).toBe('not_found');
      expect(cli).toEqual({ code: lib.code, exit: exitCodeFor(lib.code) });
    } finally {
      await repo.close();
    }
  });
});
