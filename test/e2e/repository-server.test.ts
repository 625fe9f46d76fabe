import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStorage, parseServerUrl } from '../../src/storage/drivers/http/index.js';
import { expectCode } from '../../src/storage/testing/conformance.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { addServerToken, serveRepository, type ServedRepository } from '../helpers/repository-server.js';

const PW = 'repository server passphrase';
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;

/** Every object file under the backend's directory: name → SHA-256 (what "nothing deleted or changed" compares). */
function objectsOnDisk(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else out.set(`${prefix}${e.name}`, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root, '');
  return out;
}

const errorCode = (r: CliResult) =>
  (JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: { code: string; hint?: string } }).error;

/**
 * The repository server driven by the built CLI: an append-token host backs
 * up through `lifeboat+http://…`, and everything that would delete or replace
 * stored data — forget, prune, a direct overwrite — is refused with
 * `append_only` while nothing on the server's disk changes.
 */
describe('serve-repository with an append-only token, end to end', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: ServedRepository;
  let root: string;
  let stateDir: string;
  let src: string;
  let adminToken: string;
  let appendToken: string;
  const lb = (token: string, args: string[]) =>
    runCli(['--repo', server.url, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), PW, { LIFEBOAT_SERVER_TOKEN_FILE: token }),
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-reposerver-e2e-'));
    root = path.join(dir, 'stored');
    stateDir = path.join(dir, 'server-state');
    src = path.join(dir, 'src');
    mkdirSync(src);
    const rng = prng(42);
    writeFileSync(path.join(src, 'big.bin'), seededBytes(rng, 3 * 1024 * 1024));
    writeFileSync(path.join(src, 'notes.txt'), 'first version\n');
    adminToken = await addServerToken(stateDir, dir, 'admin', 'admin');
    appendToken = await addServerToken(stateDir, dir, 'web-1', 'append');
    server = await serveRepository(['--root', root, '--listen', '127.0.0.1:0', '--state-dir', stateDir]);
    expect(server.url).toMatch(/^lifeboat\+http:\/\/127\.0\.0\.1:\d+\/repo$/);
    const init = await lb(adminToken, ['init']);
    expect(init.code, show(init)).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('backs up twice with the append token, then forget and prune fail with append_only and nothing is deleted', async () => {
    const first = await lb(appendToken, ['backup', src]);
    expect(first.code, show(first)).toBe(0);
    writeFileSync(path.join(src, 'notes.txt'), 'second version\n');
    const second = await lb(appendToken, ['backup', src]);
    expect(second.code, show(second)).toBe(0);

    const before = objectsOnDisk(root);
    expect([...before.keys()].filter((k) => k.startsWith('snapshots/'))).toHaveLength(2);
    expect([...before.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]); // its own locks were released

    const forget = await lb(appendToken, ['--json', 'forget', '--keep-last', '1']);
    expect(forget.code, show(forget)).toBe(1);
    expect(errorCode(forget).code).toBe('append_only');
    expect(errorCode(forget).hint).toMatch(/admin token/);
    const prune = await lb(appendToken, ['--json', 'prune']);
    expect(prune.code, show(prune)).toBe(1);
    expect(errorCode(prune).code).toBe('append_only');

    // Nothing that existed was deleted or changed (prune may have added an index before its first delete).
    const after = objectsOnDisk(root);
    for (const [name, hash] of before) expect(after.get(name), name).toBe(hash);

    const audit = readFileSync(path.join(stateDir, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const refused = audit.filter((e: { result: string }) => e.result === 'append_only');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((e: { token: string; status: number }) => e.token === 'web-1' && e.status === 403)).toBe(true);
    expect(readFileSync(path.join(stateDir, 'audit.log'), 'utf8')).not.toContain(
      readFileSync(appendToken, 'utf8').trim(),
    );

    const snapshots = await lb(appendToken, ['--json', 'snapshots']);
    expect(snapshots.code, show(snapshots)).toBe(0);
    const target = path.join(dir, 'restored');
    const restore = await lb(appendToken, ['restore', 'latest', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
  }, 300_000);

  it('refuses overwriting an existing snapshot object through the storage API with the append token', async () => {
    const token = readFileSync(appendToken, 'utf8').trim();
    const client = new HttpStorage(parseServerUrl(new URL(server.url)), token);
    const [snap] = await client.list('snapshots/');
    expect(snap).toBeDefined();
    const original = await client.get(snap!.name);
    await expectCode(client.put(snap!.name, Buffer.from('forged snapshot')), 'append_only');
    await expectCode(client.remove(snap!.name), 'append_only');
    expect((await client.get(snap!.name)).equals(original)).toBe(true);
    await client.close();
  });

  it('lets the admin token forget and prune', async () => {
    const forget = await lb(adminToken, ['forget', '--keep-last', '1']);
    expect(forget.code, show(forget)).toBe(0);
    const prune = await lb(adminToken, ['prune']);
    expect(prune.code, show(prune)).toBe(0);
    expect([...objectsOnDisk(root).keys()].filter((k) => k.startsWith('snapshots/'))).toHaveLength(1);
  }, 120_000);
});

describe('serve-repository listening rules and TLS', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-reposerver-tls-'));
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('refuses a non-loopback address without TLS (exit 2, with a hint)', async () => {
    await addServerToken(path.join(dir, 'state-plain'), dir, 'admin', 'admin');
    const r = await runCli([
      'serve-repository',
      '--root',
      path.join(dir, 'plain'),
      '--listen',
      '0.0.0.0:0',
      '--state-dir',
      path.join(dir, 'state-plain'),
    ]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve plain HTTP on 0\.0\.0\.0:0/);
    expect(r.stderr).toMatch(/hint: .*--tls-cert and --tls-key/);
  });

  it('serves over TLS with a self-signed certificate that the client is told to trust', async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const stateDir = path.join(dir, 'state-tls');
    const token = await addServerToken(stateDir, dir, 'tls-admin', 'admin');
    const server = await serveRepository([
      '--root',
      path.join(dir, 'tls-repo'),
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      expect(server.url).toMatch(/^lifeboat\+https:\/\/127\.0\.0\.1:\d+\/repo$/);
      const env = (extra: Record<string, string>) =>
        cliEnvFor(path.join(dir, 'cache'), PW, { LIFEBOAT_SERVER_TOKEN_FILE: token, ...extra });
      const untrusted = await runCli(['--json', 'init', '--repo', server.url], { env: env({}) });
      expect(untrusted.code, show(untrusted)).toBe(1);
      expect(errorCode(untrusted).hint).toMatch(/NODE_EXTRA_CA_CERTS/);
      const init = await runCli(['init', '--repo', server.url], { env: env({ NODE_EXTRA_CA_CERTS: cert }) });
      expect(init.code, show(init)).toBe(0);
      writeFileSync(path.join(dir, 'file.txt'), 'over TLS\n');
      const backup = await runCli(['backup', '--repo', server.url, path.join(dir, 'file.txt')], {
        env: env({ NODE_EXTRA_CA_CERTS: cert }),
      });
      expect(backup.code, show(backup)).toBe(0);
      expect(statSync(path.join(dir, 'tls-repo', 'config')).isFile()).toBe(true);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
