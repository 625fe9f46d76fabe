import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeForgetRequest } from '../../src/repository/forget-request.js';
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
 * client refuses `prune` with `role_refused` before it writes anything (not
 * even a lock); `forget` writes forget requests only (new objects, which the
 * token allows) and an admin's prune applies them, declining the last snapshot
 * of a source; a modified client that skips the role check — the library used
 * directly with the append key — is still refused by the server
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

  it('prune is refused by the client (role_refused) before anything reaches the server', async () => {
    const before = objectsOnDisk(root);
    const r = await lb(appendToken, APPEND, ['--json', 'prune']);
    expect(r.code, show(r)).toBe(1);
    expect(errorOf(r).code).toBe('role_refused');
    // Not even a lock was written and removed: the stored objects are exactly those of before.
    expect(objectsOnDisk(root)).toEqual(before);
  }, 120_000);

  it('forget through the append token only adds forget requests; the admin prune applies them and declines the last snapshot', async () => {
    for (const text of ['second version\n', 'third version\n']) {
      writeFileSync(path.join(src, 'notes.txt'), text);
      const b = await lb(appendToken, APPEND, ['backup', src]);
      expect(b.code, show(b)).toBe(0);
    }
    const list = async () =>
      (
        JSON.parse((await lb(adminToken, ADMIN, ['--json', 'snapshots'])).stdout) as {
          snapshots: Array<{ id: string }>;
        }
      ).snapshots;
    const three = await list();
    expect(three).toHaveLength(3);
    const before = objectsOnDisk(root);
    const r = await lb(appendToken, APPEND, ['--json', 'forget', '--keep-last', '2']);
    expect(r.code, show(r)).toBe(0);
    const after = objectsOnDisk(root);
    // Every object stored before is still there with the same SHA-256; the only new one is the request.
    for (const [name, sha] of Object.entries(before)) expect(after[name], name).toBe(sha);
    expect(Object.keys(after).filter((n) => !(n in before))).toEqual([`forget-requests/${three[0]!.id}`]);

    // A modified client asks for the two others as well, through the same append token.
    const token = readFileSync(appendToken, 'utf8').trim();
    const repo = await Repository.open(new HttpStorage(parseServerUrl(new URL(server.url)), token), {
      kind: 'password',
      password: Buffer.from(APPEND),
      source: 'test',
    });
    try {
      for (const s of three.slice(1))
        await writeForgetRequest(repo, {
          snapshot: s.id,
          time: new Date().toISOString(),
          source: 'whatever',
          host: 'whatever',
          requestedAt: new Date().toISOString(),
          requestedBy: { key: null, by: 'attacker' },
          policy: 'everything',
          reason: 'everything',
        });
    } finally {
      await repo.close();
    }
    expect(objectsOnDisk(root)).toMatchObject(before);

    const prune = await lb(adminToken, ADMIN, ['--json', 'prune']);
    expect(prune.code, show(prune)).toBe(0);
    const q = (
      JSON.parse(prune.stdout.trim().split('\n').pop()!) as {
        forgetRequests: { applied: Array<{ snapshot: string }>; declined: Array<{ snapshot: string; why: string }> };
      }
    ).forgetRequests;
    // Oldest first: the two older go (the newest stays as their good copy), the newest is declined as the last one.
    expect(q.applied.map((a) => a.snapshot)).toEqual([three[0]!.id, three[1]!.id]);
    expect(q.declined).toEqual([
      expect.objectContaining({ snapshot: three[2]!.id, why: expect.stringMatching(/last snapshot of source/) }),
    ]);
    expect((await list()).map((s) => s.id)).toEqual([three[2]!.id]);
    const text = await lb(adminToken, ADMIN, ['prune']);
    expect(text.stderr).toMatch(/forget request for [0-9a-f]{8} .* declined: it is the last snapshot/);
    const restored = path.join(dir, 'restored');
    const res = await lb(appendToken, APPEND, ['restore', three[2]!.id, '--target', restored]);
    expect(res.code, show(res)).toBe(0);
  }, 300_000);

  it('token_file in lifeboat.yaml gives the token (no environment variable); one others may read is refused', async () => {
    const config = path.join(dir, 'lifeboat.yaml');
    const write = (tokenFile: string) =>
      writeFileSync(
        config,
        `version: 1\nstate_dir: ${path.join(dir, 'client-state')}\nrepositories:\n  served:\n    url: ${server.url}\n    token_file: ${tokenFile}\n`,
      );
    write(appendToken);
    const run = () =>
      runCli(['--config', config, '--json', 'snapshots', '--repo', 'served'], {
        env: cliEnvFor(path.join(dir, 'cache'), APPEND),
        timeoutMs: 120_000,
      });
    const ok = await run();
    expect(ok.code, show(ok)).toBe(0);
    expect((JSON.parse(ok.stdout) as { snapshots: unknown[] }).snapshots.length).toBeGreaterThan(0);
    const loose = path.join(dir, 'loose.token');
    writeFileSync(loose, readFileSync(appendToken));
    chmodSync(loose, 0o644);
    write(loose);
    const refused = await run();
    expect(refused.code, show(refused)).not.toBe(0);
    expect(errorOf(refused).code).toBe('refused');
    expect(refused.stdout + refused.stderr).toContain(`chmod 600 ${loose}`);
    expect(refused.stdout + refused.stderr).not.toContain(readFileSync(loose, 'utf8').trim());
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
