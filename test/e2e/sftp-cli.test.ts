import { chmodSync, copyFileSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
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
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        SSH_AUTH_SOCK: undefined,
        LIFEBOAT_SFTP_PASSWORD: undefined,
      }),
    });
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

/**
 * A repository that names no key and no known_hosts logs in as `ssh` would:
 * the URL's host is a `Host` alias of ~/.ssh/config (HostName, a non-default
 * Port, User, UserKnownHostsFile) and the key is the default ~/.ssh/id_ed25519.
 */
describe('SFTP repository logging in as ssh would (~/.ssh)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: SshdServer;
  let home: string;
  let config: string;
  let repoPath: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        HOME: home,
        SSH_AUTH_SOCK: undefined,
        LIFEBOAT_SFTP_PASSWORD: undefined,
      }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-sftp-home-'));
    server = await startSshd();
    home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(server.clientKey, path.join(home, '.ssh', 'id_ed25519'));
    chmodSync(path.join(home, '.ssh', 'id_ed25519'), 0o600);
    copyFileSync(server.knownHosts, path.join(home, '.ssh', 'known_hosts.backup'));
    writeFileSync(
      path.join(home, '.ssh', 'config'),
      `# written as a user would
Host other
  HostName 192.0.2.1
  User nobody

Host backupbox nas-*
  HostName 127.0.0.1
  Port ${server.port}
  User root
  UserKnownHostsFile ~/.ssh/known_hosts.backup

Host *
  User wrong-user
  Port 2
`,
      { mode: 0o600 },
    );
    repoPath = path.join(server.dir, 'backups', 'repo');
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  nas:
    url: sftp://backupbox${repoPath}
    password_file: repo.pass
`,
    );
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('initialises and backs up through a Host alias with the default key in ~/.ssh, no identity_file', async () => {
    const init = await lb(['init', '--repo', 'nas']);
    expect(init.code, show(init)).toBe(0);
    expect(readdirSync(repoPath)).toContain('config');
    writeFileSync(path.join(dir, 'note.txt'), 'over an ssh alias\n');
    const backup = await lb(['backup', '--repo', 'nas', path.join(dir, 'note.txt')]);
    expect(backup.code, show(backup)).toBe(0);
  });

  it('says which keys it looked for when ~/.ssh holds none', async () => {
    renameSync(path.join(home, '.ssh', 'id_ed25519'), path.join(home, '.ssh', 'kept_key'));
    try {
      const r = await lb(['snapshots', '--repo', 'nas']);
      expect(r.code, show(r)).not.toBe(0);
      expect(r.stderr).toContain(path.join(home, '.ssh', 'id_ed25519'));
      expect(r.stderr).toContain(path.join(home, '.ssh', 'id_rsa'));
    } finally {
      renameSync(path.join(home, '.ssh', 'kept_key'), path.join(home, '.ssh', 'id_ed25519'));
    }
  });
});
