import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';

/**
 * An sftp:// repository configured in lifeboat.yaml, through the built CLI:
 * init, backup, restore and check --read-data against a real OpenSSH server.
 */
describe('SFTP repository through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: SshdServer;
  let config: string;
  let repoPath: string;
  let src: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined, { SSH_AUTH_SOCK: undefined, LIFEBOAT_SFTP_PASSWORD: undefined }) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-sftp-'));
    server = await startSshd();
    repoPath = path.join(server.dir, 'backups', 'repo');
    src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    const rng = prng(42);
    writeFileSync(path.join(src, 'big.bin'), seededBytes(rng, 3 * 1024 * 1024));
    writeFileSync(path.join(src, 'sub', 'note.txt'), 'hello over sftp\n');
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  nas:
    url: ${server.url(repoPath)}
    identity_file: ${server.clientKey}
    known_hosts: ${server.knownHosts}
    password_file: repo.pass
`,
    );
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('initialises the repository on the server', async () => {
    const r = await lb(['init', '--repo', 'nas']);
    expect(r.code, show(r)).toBe(0);
    expect(readdirSync(repoPath)).toContain('config');
  });

  it('backs up, restores byte-identical and checks every byte', async () => {
    const backup = await lb(['backup', '--repo', 'nas', src]);
    expect(backup.code, show(backup)).toBe(0);
    const target = path.join(dir, 'restored');
    const restore = await lb(['restore', 'latest', '--repo', 'nas', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
    const check = await lb(['check', '--read-data', '--repo', 'nas']);
    expect(check.code, show(check)).toBe(0);
    // Neither the URL's user nor any secret is in the output.
    expect(backup.stdout + backup.stderr + check.stdout + check.stderr).not.toContain('repository passphrase');
  });
});
