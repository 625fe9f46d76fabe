import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from './free-port.js';

/**
 * A throwaway OpenSSH server (Debian's openssh-server) for SFTP tests:
 * `sshd -D -e -f <temp sshd_config> -p <free port> -h <temp host key>` on
 * 127.0.0.1, with PidFile, AuthorizedKeysFile and all keys in a temp directory
 * and `Subsystem sftp internal-sftp`.
 *
 * Logins: `root` with a temp client key pair (tests run as root), and, with
 * `passwordUser: true`, the system user `lifeboat-sftp-test` (created once with
 * useradd if missing, no home directory made) whose password (chpasswd) and home
 * (usermod, a directory under `dir`) are set afresh on every start. The account stays; every file this
 * starter creates is under `dir` and removed by stop().
 */
export const PASSWORD_USER = 'lifeboat-sftp-test';
const SSHD = '/usr/sbin/sshd';

export interface SshdServer {
  port: number;
  dir: string;
  /** Private key (0600) whose public half is authorized for root and the password user. */
  clientKey: string;
  /** A known_hosts file holding `[127.0.0.1]:PORT <host key>`. */
  knownHosts: string;
  /** The host key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** With passwordUser: a file (0600) holding that user's password, and a directory it owns. */
  password?: { user: string; file: string; home: string };
  /** sftp://root@127.0.0.1:PORT<p> */
  url(p: string, user?: string): string;
  /** sshd's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  passwordUser?: boolean;
}

function run(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function keygen(file: string, type = 'ed25519'): void {
  run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'lifeboat-test', '-f', file]);
}

/** Creates the password user once; sets a fresh password and home directory every time. */
function ensurePasswordUser(password: string, home: string): { uid: number; gid: number } {
  const exists = spawnSync('id', ['-u', PASSWORD_USER], { encoding: 'utf8' });
  if (exists.status !== 0) {
    const add = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', PASSWORD_USER],
      { encoding: 'utf8' },
    );
    // Another test file may have created it meanwhile (exit 9: already exists).
    if (add.status !== 0 && add.status !== 9) throw new Error(`useradd failed: ${add.stderr}`);
  }
  run('usermod', ['--home', home, PASSWORD_USER]);
  run('chpasswd', [], `${PASSWORD_USER}:${password}\n`);
  const uid = Number(spawnSync('id', ['-u', PASSWORD_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', PASSWORD_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/** True once the port answers with an SSH banner. */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
  });
}

export async function startSshd(options: SshdOptions = {}): Promise<SshdServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sshd-'));
  await chmod(dir, 0o755); // the password user must reach its directory below
  let server: ChildProcess | undefined;
  let output = '';
  const stop = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const hostKey = path.join(dir, 'host_key');
    const clientKey = path.join(dir, 'client_key');
    keygen(hostKey);
    keygen(clientKey);
    const authorized = path.join(dir, 'authorized_keys');
    await writeFile(authorized, await readFile(`${clientKey}.pub`), { mode: 0o644 });
    const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`, { mode: 0o600 });

    let password: SshdServer['password'];
    if (options.passwordUser) {
      const secret = randomBytes(18).toString('base64url');
      const home = path.join(dir, 'home');
      const { uid, gid } = ensurePasswordUser(secret, home);
      await mkdir(home, { mode: 0o700 });
      await chown(home, uid, gid);
      const file = path.join(dir, 'sftp.pass');
      await writeFile(file, `${secret}\n`, { mode: 0o600 });
      password = { user: PASSWORD_USER, file, home };
    }

    const config = path.join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        'ListenAddress 127.0.0.1',
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin yes',
        `PasswordAuthentication ${options.passwordUser ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'Subsystem sftp internal-sftp',
        'LogLevel VERBOSE',
        'MaxStartups 64',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // sshd refuses to start without its privilege separation directory.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    server = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port), '-h', hostKey], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: string) => (output = (output + d).slice(-8000));
    server.stdout!.setEncoding('utf8').on('data', collect);
    server.stderr!.setEncoding('utf8').on('data', collect);
    await waitUntil(
      async () => {
        if (server!.exitCode !== null) throw new Error(`sshd exited: ${output}`);
        return banner(port);
      },
      15_000,
      async () => output,
    );
    return {
      port,
      dir,
      clientKey,
      knownHosts,
      hostPublicKey,
      password,
      url: (p, user = 'root') => `sftp://${user}@127.0.0.1:${port}${p}`,
      output: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
