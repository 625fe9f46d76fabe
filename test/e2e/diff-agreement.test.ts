import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

const PW = 'diff agreement passphrase';

/**
 * `lifeboat diff` and the dashboard's `GET …/diff?with=` read the same snapshots through one
 * diff of the snapshot-tree toolkit, so they name the same changes: a file whose only change is
 * its mode, and a symlink whose only change is its target, are `modified` in both.
 */
describe('CLI diff and API diff agree', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let data: string;
  let daemon: Daemon | undefined;
  let before: string;
  let after: string;

  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--repo', path.join(dir, 'repo'), ...args], { env: cliEnvFor(path.join(dir, 'cache'), PW) });
  const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const backup = async (): Promise<string> => {
    const r = await lb(['--json', 'backup', data]);
    expect(r.code, show(r)).toBe(0);
    return lastJson<{ snapshot: { id: string } }>(r.stdout).snapshot.id;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-diff-agreement-'));
    data = path.join(dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'mode.txt'), 'only the mode changes\n', { mode: 0o644 });
    chmodSync(path.join(data, 'mode.txt'), 0o644);
    writeFileSync(path.join(data, 'same.txt'), 'nothing changes\n');
    symlinkSync('target-a', path.join(data, 'link'));
    writeFileSync(path.join(dir, 'repo.pass'), `${PW}\n`, { mode: 0o600 });
    const init = await lb(['init']);
    expect(init.code, show(init)).toBe(0);
    before = await backup();

    chmodSync(path.join(data, 'mode.txt'), 0o600);
    rmSync(path.join(data, 'link'));
    symlinkSync('target-b', path.join(data, 'link'));
    after = await backup();

    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  files: { type: files, paths: [./data] }
jobs:
  nightly: { sources: [files], to: local }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, { listen: '127.0.0.1:0', cacheRoot: path.join(dir, 'daemon-cache') });
  });

  afterAll(async () => {
    await daemon?.stop();
    await cleanup?.();
  });

  it('on a mode-only change and a symlink-target-only change', async () => {
    const cli = await lb(['--json', 'diff', before, after]);
    expect(cli.code, show(cli)).toBe(0);
    const fromCli = (JSON.parse(cli.stdout) as { changes: Array<{ path: string; change: string }> }).changes.map(
      (c) => ({ path: c.path, change: c.change }),
    );

    const token = readFileSync(daemon!.tokenFile, 'utf8').trim();
    const res = await fetch(`${daemon!.url}/api/v1/snapshots/local/${before}/diff?with=${after}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const fromApi = ((await res.json()) as { changes: Array<{ path: string; change: string }> }).changes.map((c) => ({
      path: c.path,
      change: c.change,
    }));

    const expected = [
      { path: `${data}/link`, change: 'modified' },
      { path: `${data}/mode.txt`, change: 'modified' },
    ];
    expect(fromCli).toEqual(expected);
    expect(fromApi).toEqual(expected);
  });
});
