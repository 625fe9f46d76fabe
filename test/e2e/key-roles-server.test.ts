import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.js';
import { HttpStorage, parseServerUrl } from '../../src/storage/drivers/http/index.js';
import { expectCode } from '../../src/storage/testing/conformance.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { addServerToken, serveRepository, type ServedRepository } from '../helpers/repository-server.js';

const ADMIN = 'admin passphrase of the served repository';
const APPEND = 'append passphrase of host web-1';
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
const errorOf = (r: CliResult) => (JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: { code: string } }).error;

function objectsOnDisk(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}

/**
 * An append key paired with an append token of the repository server: the
 * client refuses `forget` with `role_refused` before it writes anything (not
 * even a lock), and a modified client that skips the role check — the
 * library used directly with the append key — is still refused by the server
 * (`append_only`): the guarantee against a compromised host is the token's.
 */
describe('an append key with an append token', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: ServedRepository;
  let root: string;
  let src: string;
  let adminToken: string;
  let appendToken: string;
  const lb = (token: string, password: string, args: string[], extra: Record<string, string> = {}) =>
    runCli(['--repo', server.url, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), password, { LIFEBOAT_SERVER_TOKEN_FILE: token, ...extra }),
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-key-roles-server-'));
    root = path.join(dir, 'stored');
    const stateDir = path.join(dir, 'server-state');
    src = path.join(dir, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'notes.txt'), 'backed up by web-1\n');
    adminToken = await addServerToken(stateDir, dir, 'admin', 'admin');
    appendToken = await addServerToken(stateDir, dir, 'web-1', 'append');
    server = await serveRepository(['--root', root, '--listen', '127.0.0.1:0', '--state-dir', stateDir]);
    for (const [args, extra] of [
      [['init'], {}],
      [['key', 'add', '--role', 'append', '--label', 'web-1'], { LIFEBOAT_NEW_PASSWORD: APPEND }],
    ] as const) {
      const r = await lb(adminToken, ADMIN, [...args], extra);
      expect(r.code, show(r)).toBe(0);
    }
    const backup = await lb(appendToken, APPEND, ['backup', src]);
    expect(backup.code, show(backup)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('forget and prune are refused by the client (role_refused) before anything reaches the server', async () => {
    const before = objectsOnDisk(root);
    for (const args of [['forget', '--keep-last', '1'], ['prune']]) {
      const r = await lb(appendToken, APPEND, ['--json', ...args]);
      expect(r.code, show(r)).toBe(1);
      expect(errorOf(r).code).toBe('role_refused');
    }
    // Not even a lock was written and removed: the stored objects are exactly those of before.
    expect(objectsOnDisk(root)).toEqual(before);
  }, 120_000);

  it('a modified client skipping the role check is refused by the server (append_only), and the snapshot stays', async () => {
    const token = readFileSync(appendToken, 'utf8').trim();
    const storage = new HttpStorage(parseServerUrl(new URL(server.url)), token);
    const repo = await Repository.open(storage, {
      kind: 'password',
      password: Buffer.from(APPEND),
      source: 'test',
    });
    try {
      expect(repo.role).toBe('append');
      const [snap] = await storage.list('snapshots/');
      expect(snap).toBeDefined();
      const original = await storage.get(snap!.name);
      // What `forget` would do once past requireAdmin: remove the snapshot object.
      await expectCode(storage.remove(snap!.name), 'append_only');
      await expectCode(storage.put(snap!.name, Buffer.from('forged')), 'append_only');
      expect((await storage.get(snap!.name)).equals(original)).toBe(true);
    } finally {
      await repo.close();
    }
  });
});
