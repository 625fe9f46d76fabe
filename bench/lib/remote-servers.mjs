// Throwaway loopback servers for bench/remote.mjs, in plain Node (the bench does not import the
// TypeScript test helpers; these follow test/helpers/servers/sshd.ts and s3.ts):
//
//   startSshd()   OpenSSH `sshd -D` on 127.0.0.1:<free port> with a temp host key, root login with a
//                 temp client key, `Subsystem sftp internal-sftp`, and a known_hosts file for clients.
//   startS3rver() s3rver (npm devDependency) as its own Node process on 127.0.0.1:<free port>,
//                 started through test/helpers/servers/s3rver-launch.cjs (plain CommonJS), which makes
//                 uploads visible only when complete and reads/writes of one key atomic, as on S3.
//
// Both return { pid, port, cpuSeconds(), settle(), output(), stop() }; cpuSeconds() is the server
// process's user+system CPU plus that of its exited (reaped) children, read from /proc/<pid>/stat;
// settle() waits until sshd's per-connection processes have exited (so their CPU is counted).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SSHD = '/usr/sbin/sshd';
const here = path.dirname(fileURLToPath(import.meta.url));
export const S3RVER_LAUNCHER = path.resolve(here, '../../test/helpers/servers/s3rver-launch.cjs');

/** A TCP port on loopback that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil(ready, timeoutMs, describe) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready after ${timeoutMs} ms: ${describe()}`);
}

let clockTicks = null;
/** utime + stime + cutime + cstime of a live process, in seconds (null if unreadable). */
export function processCpuSeconds(pid) {
  try {
    if (clockTicks === null) {
      const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
      clockTicks = Number(r.stdout.trim()) || 100;
    }
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may contain spaces).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime..cstime are fields 14..17.
    const ticks = [11, 12, 13, 14].reduce((a, i) => a + Number(rest[i]), 0);
    return ticks / clockTicks;
  } catch {
    return null;
  }
}

/** Pids of the live children of `pid` (from /proc). */
export function childPids(pid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Wait (up to `timeoutMs`) until `pid` has no live children: sshd forks a process per connection,
 * whose CPU time reaches the listener's cutime/cstime only once it has exited and been reaped.
 */
export async function waitForNoChildren(pid, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (childPids(pid).length === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function track(child, limit) {
  let output = '';
  const collect = (d) => {
    output = (output + d).slice(-limit);
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  return () => output;
}

function stopper(child, dir) {
  return async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
}

/** True once the port answers with an SSH banner. */
function sshBanner(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
  });
}

export function haveSshd() {
  return fs.existsSync(SSHD) && spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error === undefined;
}

/**
 * sshd for root with a temp key. Returns { port, dir, clientKey, knownHosts, hostPublicKey, pid,
 * url(p), cpuSeconds(), output(), stop() }. Needs root (sshd, root login).
 */
export async function startSshd() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bench-sshd-'));
  let child;
  let output = () => '';
  const cleanup = async () => stopper(child, dir)();
  try {
    const port = await freePort();
    const hostKey = path.join(dir, 'host_key');
    const clientKey = path.join(dir, 'client_key');
    for (const f of [hostKey, clientKey])
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-bench', '-f', f]);
    const authorized = path.join(dir, 'authorized_keys');
    fs.writeFileSync(authorized, fs.readFileSync(`${clientKey}.pub`), { mode: 0o644 });
    const hostPublicKey = fs.readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`, { mode: 0o600 });
    const config = path.join(dir, 'sshd_config');
    fs.writeFileSync(
      config,
      [
        'ListenAddress 127.0.0.1',
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'Subsystem sftp internal-sftp',
        'LogLevel INFO',
        'MaxStartups 64',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
    child = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port), '-h', hostKey], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = track(child, 8000);
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`sshd exited: ${output()}`);
        return sshBanner(port);
      },
      15_000,
      output,
    );
    const version = (spawnSync(SSHD, ['-V'], { encoding: 'utf8' }).stderr || '').trim().split('\n')[0];
    return {
      kind: 'sshd',
      version,
      port,
      dir,
      clientKey,
      knownHosts,
      hostPublicKey,
      pid: child.pid,
      url: (p) => `sftp://root@127.0.0.1:${port}${p}`,
      cpuSeconds: () => processCpuSeconds(child.pid),
      settle: () => waitForNoChildren(child.pid),
      output,
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/**
 * s3rver storing in `dataDir` (created; left in place by stop(), so its size can be measured).
 * Returns { endpoint, port, pid, accessKeyId, secretAccessKey, credentialsFile, dataDir, version,
 * cpuSeconds(), output(), stop() }.
 */
export async function startS3rver({ dataDir, stateDir }) {
  if (!fs.existsSync(S3RVER_LAUNCHER)) throw new Error(`s3rver launcher not found at ${S3RVER_LAUNCHER}`);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  let child;
  let output = () => '';
  const cleanup = async () => stopper(child, null)();
  try {
    const credentialsFile = path.join(stateDir, 's3-credentials');
    fs.writeFileSync(credentialsFile, 'AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=S3RVER\n', { mode: 0o600 });
    fs.chmodSync(credentialsFile, 0o600);
    const port = await freePort();
    // --openssl-legacy-provider: s3rver's continuation tokens use a cipher OpenSSL 3 keeps there.
    child = spawn(process.execPath, ['--openssl-legacy-provider', S3RVER_LAUNCHER, dataDir, String(port)], {
      cwd: stateDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = track(child, 4000);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`s3rver exited: ${output()}`);
        const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.ok;
      },
      15_000,
      output,
    );
    let version = 'unknown';
    try {
      const pkg = path.resolve(here, '../../node_modules/s3rver/package.json');
      version = `s3rver ${JSON.parse(fs.readFileSync(pkg, 'utf8')).version}`;
    } catch {
      /* not fatal */
    }
    return {
      kind: 's3rver',
      version,
      port,
      pid: child.pid,
      endpoint,
      dataDir,
      credentialsFile,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      cpuSeconds: () => processCpuSeconds(child.pid),
      settle: async () => true,
      output,
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Sum of the object bodies s3rver stores under `dir` (its `<key>._S3rver_object` files). */
export function s3rverObjectBytes(dir) {
  let total = 0;
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('._S3rver_object')) total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}
