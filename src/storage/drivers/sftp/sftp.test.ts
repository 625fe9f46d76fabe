import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdServer } from '../../../../test/helpers/servers/sshd.js';
import { freePort } from '../../../../test/helpers/servers/free-port.js';
import type { RemoteSettings } from '../../contract.js';
import { openStorage } from '../../registry.js';
import { describeStorageConformance, expectCode, temporariesOnDisk } from '../../testing/conformance.js';
import { SFTP_PASSWORD_ENV } from './sftp-auth.js';
import { parseKnownHosts } from './sftp-known-hosts.js';
import type { SftpConnection } from './sftp-connection.js';
import { readRequestBytes } from './sftp-io.js';
import { SftpStorage, createSftpStorage, type SftpStorageOptions } from './sftp.js';

/**
 * The SFTP driver against a real OpenSSH server (test/helpers/servers/sshd.ts).
 * The server runs on this machine, so the repository directories it writes are
 * also inspected directly on disk.
 */
let server: SshdServer;
let counter = 0;

beforeAll(async () => {
  server = await startSshd({ passwordUser: true });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const keyAuth = (): RemoteSettings => ({ identityFile: server.clientKey, knownHosts: server.knownHosts });
/** No ssh-agent of the developer's shell, no password variable: only what a test passes. */
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: server.dir, ...extra });

async function open(p: string, remote: RemoteSettings = keyAuth(), options: SftpStorageOptions = {}, user = 'root') {
  return createSftpStorage(new URL(server.url(p, user)), { create: true, remote, env: env(), ...options });
}

/** The live SSH session of a storage, to inject faults into its SFTP calls. */
function sessionOf(s: SftpStorage) {
  return (s as unknown as { connection: SftpConnection }).connection.session();
}

function newRepoPath(): string {
  return path.join(server.dir, 'repos', `r${++counter}`);
}

describeStorageConformance(
  'sftp',
  async () => {
    const root = newRepoPath();
    const storage = await open(root);
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await fs.rm(root, { recursive: true, force: true });
      },
      temporaries: temporariesOnDisk(root),
    };
  },
  { writesTemporaries: true },
);

describe('SftpStorage specifics', () => {
  it('creates the root and directories 0700, objects 0600, and leaves no temp file', async () => {
    const root = newRepoPath();
    const s = await open(root);
    try {
      expect(s).toBeInstanceOf(SftpStorage);
      expect(s.location).toBe(`sftp://127.0.0.1:${server.port}${root}`);
      await s.put('data/ab/obj', Buffer.from('one'));
      await s.put('data/ab/obj', Buffer.from('two, longer'));
      await s.put('config', Buffer.alloc(0));
      const mode = async (p: string) => (await fs.stat(path.join(root, p))).mode & 0o777;
      expect(await mode('.')).toBe(0o700);
      expect(await mode('data')).toBe(0o700);
      expect(await mode('data/ab')).toBe(0o700);
      expect(await mode('data/ab/obj')).toBe(0o600);
      expect((await fs.readdir(root, { recursive: true })).map(String).sort()).toEqual([
        'config',
        'data',
        'data/ab',
        'data/ab/obj',
      ]);
    } finally {
      await s.close();
    }
  });

  it('never lists temp files or foreign names, and a getRange past the end is storage', async () => {
    const root = newRepoPath();
    const s = await open(root);
    try {
      await s.put('data/ab/obj', Buffer.alloc(10));
      await fs.writeFile(path.join(root, 'data', 'ab', '.tmp-0123456789abcdef'), 'partial');
      await fs.writeFile(path.join(root, 'data', 'ab', 'has space'), 'foreign');
      expect(await s.list('data/')).toEqual([{ name: 'data/ab/obj', size: 10 }]);
      const err = await expectCode(s.getRange('data/ab/obj', 5, 6), 'storage');
      expect(err.retryable).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('fails a listing when a directory below the prefix cannot be read', async () => {
    const home = server.password!.home;
    const root = path.join(home, 'repo-list');
    const s = await open(
      root,
      { passwordFile: server.password!.file, knownHosts: server.knownHosts },
      {},
      server.password!.user,
    );
    try {
      await s.put('data/ab/x', Buffer.from('x'));
      await s.put('data/cd/y', Buffer.from('y'));
      await fs.chmod(path.join(root, 'data', 'cd'), 0o000);
      const err = await expectCode(s.list('data/'), 'storage');
      expect(err.hint).toMatch(/permission/);
      await fs.chmod(path.join(root, 'data', 'cd'), 0o700);
      expect((await s.list('data/')).length).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('maps permission denied to storage with a hint', async () => {
    const locked = path.join(server.dir, 'locked');
    await fs.mkdir(locked, { mode: 0o700 });
    const err = await expectCode(
      open(
        path.join(locked, 'repo'),
        { passwordFile: server.password!.file, knownHosts: server.knownHosts },
        {},
        server.password!.user,
      ),
      'storage',
    );
    expect(err.hint).toMatch(/permission/);
    expect(err.retryable).toBe(false);
  });

  it('resolves /~/path against the login home directory', async () => {
    const s = await open(
      '/~/homerepo',
      { passwordFile: server.password!.file, knownHosts: server.knownHosts },
      {},
      server.password!.user,
    );
    try {
      expect((s as SftpStorage).root).toBe(path.join(server.password!.home, 'homerepo'));
      await s.put('config', Buffer.from('c'));
      expect(await fs.readFile(path.join(server.password!.home, 'homerepo', 'config'), 'utf8')).toBe('c');
    } finally {
      await s.close();
    }
  });

  it('reports space from statvfs@openssh.com and the object sizes', async () => {
    const s = await open(newRepoPath());
    try {
      await s.put('data/ab/x', Buffer.alloc(1234));
      const space = await s.space();
      expect(space.usedBytes).toBe(1234);
      expect(space.totalBytes).toBeGreaterThan(0);
      expect(space.availableBytes).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  it('reads in requests as large as the server allows, and returns every byte of long reads and ranges', async () => {
    const s = await open(newRepoPath());
    try {
      const { sftp } = await sessionOf(s);
      // OpenSSH announces limits@openssh.com; its largest read is 256 KiB less 1 KiB.
      expect(readRequestBytes(sftp)).toBe(261_120);
      const data = randomBytes(5 * 1024 * 1024 + 12_345);
      await s.put('data/ab/big', data);
      expect((await s.get('data/ab/big')).equals(data)).toBe(true);
      for (const [offset, length] of [
        [0, 261_120],
        [1, 261_120],
        [261_119, 261_122],
        [777, 3 * 1024 * 1024],
        [data.length - 300_000, 300_000],
      ] as const) {
        expect((await s.getRange('data/ab/big', offset, length)).equals(data.subarray(offset, offset + length))).toBe(
          true,
        );
      }
    } finally {
      await s.close();
    }
  });

  it('asks again when the server answers a read with fewer bytes than asked, and fails on an error mid-read', async () => {
    const s = await open(newRepoPath());
    try {
      const data = randomBytes(3 * 1024 * 1024 + 7);
      await s.put('data/ab/obj', data);
      const { sftp } = await sessionOf(s);
      const read = sftp.read.bind(sftp);
      // Fault injection: answers of at most 10,000 bytes, as a server with a lower limit would give.
      let requests = 0;
      sftp.read = ((h, buf, off, len, pos, cb) => {
        requests++;
        return read(h, buf, off, Math.min(len, 10_000), pos, cb);
      }) as typeof sftp.read;
      expect((await s.getRange('data/ab/obj', 5, data.length - 5)).equals(data.subarray(5))).toBe(true);
      expect(requests).toBeGreaterThan((data.length - 5) / 10_000);
      // The 5th request fails: the read fails with it instead of returning what arrived.
      requests = 0;
      sftp.read = ((h, buf, off, len, pos, cb) => {
        if (++requests === 5) return cb(new Error('injected read failure'), 0, buf, pos);
        return read(h, buf, off, len, pos, cb);
      }) as typeof sftp.read;
      const err = await expectCode(s.get('data/ab/obj'), 'storage');
      expect(err.message).toContain('injected read failure');
      sftp.read = read;
      expect((await s.get('data/ab/obj')).equals(data)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('rejects a missing repository without create, and calls after close', async () => {
    await expectCode(
      createSftpStorage(new URL(server.url(path.join(server.dir, 'nope'))), { remote: keyAuth(), env: env() }),
      'repository_not_found',
    );
    const s = await open(newRepoPath());
    await s.close();
    await expectCode(s.get('config'), 'storage');
  });

  it('is registered for sftp:// URLs', async () => {
    const root = newRepoPath();
    await fs.mkdir(root, { recursive: true });
    const s = await openStorage(server.url(root), { remote: keyAuth() });
    try {
      await s.put('config', Buffer.from('via registry'));
      expect((await s.get('config')).toString()).toBe('via registry');
    } finally {
      await s.close();
    }
  });
});

describe('SFTP host keys', () => {
  const attempt = (knownHosts: string, acceptNewHostKey?: boolean) =>
    open(newRepoPath(), { identityFile: server.clientKey, knownHosts, acceptNewHostKey });

  it('refuses an unknown host without accept_new_host_key, naming the fingerprint and a hint', async () => {
    const file = path.join(server.dir, 'kh-empty');
    await fs.writeFile(file, '');
    const err = await expectCode(attempt(file), 'storage');
    expect(err.message).toMatch(/not in .*kh-empty; refusing to connect to an unknown host/);
    expect(err.message).toMatch(/ssh-ed25519 SHA256:/);
    expect(err.hint).toMatch(/accept_new_host_key/);
    expect(err.retryable).toBe(false);
    expect(await fs.readFile(file, 'utf8')).toBe('');
  });

  it('records an unknown host with accept_new_host_key as a hashed entry that matches afterwards', async () => {
    const file = path.join(server.dir, 'sub', 'kh-new');
    await (await attempt(file, true)).close();
    const text = await fs.readFile(file, 'utf8');
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 AAAA\S+\n$/);
    expect(text).not.toContain('127.0.0.1');
    expect(parseKnownHosts(text)[0]!.key.toString('base64')).toBe(server.hostPublicKey.split(' ')[1]);
    // Known now: accepted without the option, and nothing appended again.
    await (await attempt(file, false)).close();
    expect(await fs.readFile(file, 'utf8')).toBe(text);
  });

  it('refuses a changed host key loudly, even with accept_new_host_key, and leaves the file alone', async () => {
    const other = path.join(server.dir, 'other_key');
    const { spawnSync } = await import('node:child_process');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const fake = (await fs.readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const file = path.join(server.dir, 'kh-changed');
    const content = `# comment\nexample.org ${fake}\n[127.0.0.1]:${server.port} ${fake}\n`;
    await fs.writeFile(file, content);
    const err = await expectCode(attempt(file, true), 'storage');
    expect(err.message).toMatch(/HOST KEY OF 127\.0\.0\.1:\d+ HAS CHANGED/);
    expect(err.message).toContain('line 3');
    expect(err.hint).toMatch(/ssh-keygen -R/);
    expect(await fs.readFile(file, 'utf8')).toBe(content);
  });

  it('accepts a host recorded under a hashed [host]:port entry made by ssh-keygen -H', async () => {
    const { spawnSync } = await import('node:child_process');
    const file = path.join(server.dir, 'kh-hashed');
    await fs.writeFile(file, `[127.0.0.1]:${server.port} ${server.hostPublicKey}\n`);
    const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toMatch(/^\|1\|/);
    await (await attempt(file)).close();
  });
});

describe('SFTP authentication and errors', () => {
  it('logs in with a password from sftp_password_file', async () => {
    const root = path.join(server.password!.home, 'pw-repo');
    const s = await open(
      root,
      { passwordFile: server.password!.file, knownHosts: server.knownHosts },
      {},
      server.password!.user,
    );
    try {
      await s.put('keys/k', Buffer.from('by password'));
      expect((await s.get('keys/k')).toString()).toBe('by password');
      expect((await fs.stat(path.join(root, 'keys', 'k'))).uid).not.toBe(0);
    } finally {
      await s.close();
    }
  });

  it(`logs in with a password from $${SFTP_PASSWORD_ENV}`, async () => {
    const secret = (await fs.readFile(server.password!.file, 'utf8')).trim();
    const s = await createSftpStorage(
      new URL(server.url(path.join(server.password!.home, 'env-repo'), server.password!.user)),
      {
        create: true,
        remote: { knownHosts: server.knownHosts },
        env: env({ [SFTP_PASSWORD_ENV]: secret }),
      },
    );
    await s.close();
  });

  it('reports a refused login with a hint and without the secret', async () => {
    const wrong = path.join(server.dir, 'wrong.pass');
    await fs.writeFile(wrong, 'not-the-password-xyzzy\n');
    const err = await expectCode(
      open(
        path.join(server.password!.home, 'x'),
        { passwordFile: wrong, knownHosts: server.knownHosts },
        {},
        server.password!.user,
      ),
      'storage',
    );
    expect(err.message).toMatch(/refused the login as lifeboat-sftp-test@127\.0\.0\.1/);
    expect(err.hint).toMatch(/sftp_password_file/);
    expect(JSON.stringify(err.toJSON())).not.toContain('xyzzy');
    expect(err.retryable).toBe(false);
  });

  it('refuses a password in the URL without repeating it', async () => {
    const err = await expectCode(
      openStorage(`sftp://root:hunter2secret@127.0.0.1:${server.port}/srv/x`, { remote: keyAuth() }),
      'usage',
    );
    expect(err.message).not.toContain('hunter2secret');
    expect(err.hint).toMatch(/sftp_password_file/);
  });

  it('marks a refused connection retryable', async () => {
    const port = await freePort();
    const err = await expectCode(
      createSftpStorage(new URL(`sftp://root@127.0.0.1:${port}/x`), { remote: keyAuth(), env: env() }),
      'storage',
    );
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/ECONNREFUSED|refused/);
  });

  it('asks for credentials when none are configured', async () => {
    const err = await expectCode(
      createSftpStorage(new URL(server.url('/x')), { remote: { knownHosts: server.knownHosts }, env: env() }),
      'config',
    );
    expect(err.hint).toMatch(/identity_file/);
  });
});
