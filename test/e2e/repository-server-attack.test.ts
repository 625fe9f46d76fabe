import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeIndexFile, encodeIndexFile } from '../../src/repository/format/index.js';
import { Repository } from '../../src/repository/repository.js';
import { HttpStorage, parseServerUrl } from '../../src/storage/drivers/http/index.js';
import { expectCode } from '../../src/storage/testing/conformance.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { addServerToken, serveRepository, type ServedRepository } from '../helpers/repository-server.js';

const ADMIN = 'admin passphrase of the attacked repository';
const APPEND = 'append passphrase of the compromised host';
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;

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

interface AuditLine {
  token: string;
  method: string;
  path: string;
  status: number;
  result: string;
}

/**
 * A compromised host holding an append key and an append token of a real
 * server process attacks the repository: through the CLI, and as a modified
 * client calling the storage API directly. Every destructive attempt is
 * refused by the server and written to its audit log; the one thing it may
 * add — a new index file that leaves entries out — hides nothing from an
 * admin's check and prune; every earlier snapshot still restores byte for byte.
 */
describe('the repository server against a compromised append host', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: ServedRepository;
  let root: string;
  let stateDir: string;
  let src: string;
  let adminToken: string;
  let appendToken: string;
  const versions: Array<{ id: string; copy: string }> = [];
  const lb = (token: string, password: string, args: string[], extra: Record<string, string> = {}) =>
    runCli(['--repo', server.url, ...args], {
      env: cliEnvFor(path.join(dir, `cache-${path.basename(token)}`), password, {
        LIFEBOAT_SERVER_TOKEN_FILE: token,
        ...extra,
      }),
      timeoutMs: 240_000,
    });
  const ok = async (token: string, password: string, args: string[], extra: Record<string, string> = {}) => {
    const r = await lb(token, password, args, extra);
    expect(r.code, `${args.join(' ')}: ${show(r)}`).toBe(0);
    return r;
  };
  const audit = (): AuditLine[] =>
    readFileSync(path.join(stateDir, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine);
  const snapshotIds = async () =>
    (
      JSON.parse((await ok(adminToken, ADMIN, ['--json', 'snapshots'])).stdout) as {
        snapshots: Array<{ id: string }>;
      }
    ).snapshots.map((s) => s.id);

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-reposerver-attack-'));
    root = path.join(dir, 'stored');
    stateDir = path.join(dir, 'server-state');
    src = path.join(dir, 'src');
    mkdirSync(src);
    adminToken = await addServerToken(stateDir, dir, 'admin', 'admin');
    appendToken = await addServerToken(stateDir, dir, 'web-1', 'append');
    server = await serveRepository(['--root', root, '--listen', '127.0.0.1:0', '--state-dir', stateDir]);
    await ok(adminToken, ADMIN, ['init']);
    await ok(adminToken, ADMIN, ['key', 'add', '--role', 'append', '--label', 'web-1'], {
      LIFEBOAT_NEW_PASSWORD: APPEND,
    });
    const rng = prng(7);
    for (let v = 0; v < 2; v++) {
      writeFileSync(path.join(src, `big-${v}.bin`), seededBytes(rng, 2 * 1024 * 1024));
      writeFileSync(path.join(src, 'notes.txt'), `version ${v}\n`);
      await ok(appendToken, APPEND, ['backup', src]);
      const copy = path.join(dir, `expected-${v}`);
      cpSync(src, copy, { recursive: true, preserveTimestamps: true });
      const ids = await snapshotIds();
      versions.push({ id: ids.find((id) => !versions.some((x) => x.id === id))!, copy });
    }
  }, 600_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('a modified client with the append token: every delete, overwrite and rename is refused (403) and audited', async () => {
    // An admin host's lock, which the attacker will try to remove.
    const admin = new HttpStorage(parseServerUrl(new URL(server.url)), readFileSync(adminToken, 'utf8').trim());
    const adminLock = `locks/${randomBytes(32).toString('hex')}`;
    await admin.put(adminLock, Buffer.from('a lock of the admin host'));
    const before = objectsOnDisk(root);
    const names = [...before.keys()];
    const pack = names.find((n) => n.startsWith('data/'))!;
    const snapshot = names.find((n) => n.startsWith('snapshots/'))!;
    const index = names.find((n) => n.startsWith('index/'))!;

    const storage = new HttpStorage(parseServerUrl(new URL(server.url)), readFileSync(appendToken, 'utf8').trim());
    const repo = await Repository.open(storage, { kind: 'password', password: Buffer.from(APPEND), source: 'test' });
    let dropping: string;
    try {
      expect(repo.role).toBe('append');
      await expectCode(storage.remove(pack), 'append_only'); // delete a pack (what prune does)
      await expectCode(storage.put(snapshot, Buffer.from('forged snapshot')), 'append_only'); // overwrite a snapshot
      await expectCode(storage.remove(snapshot), 'append_only'); // forget
      await expectCode(storage.put(index, Buffer.from('an index with fewer entries')), 'append_only');
      await expectCode(storage.remove(index), 'append_only');
      await expectCode(storage.remove(adminLock), 'append_only'); // another host's lock
      // Rename: the server has no such operation; copying to a new name and deleting the old is the delete above.
      const move = await fetch(`${server.url.replace('lifeboat+', '')}/v1/objects/${snapshot}`, {
        method: 'MOVE',
        headers: { authorization: `Bearer ${readFileSync(appendToken, 'utf8').trim()}` },
      });
      expect(move.ok).toBe(false);
      // What it may do: add a new index file that leaves out every entry of one pack and claims to supersede the others.
      const indexNames = (await storage.list('index/')).map((o) => o.name);
      const current = decodeIndexFile(await repo.readObject(index, 'index'));
      dropping = current.packs[0]!.id;
      const forged = await repo.writeObject(
        'index',
        'index',
        encodeIndexFile({
          supersedes: indexNames.map((n) => n.slice('index/'.length)),
          packs: current.packs.slice(1),
        }),
      );
      expect(forged).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await repo.close();
      await admin.close();
    }

    // Every object stored before is there with the same bytes; only the new index file was added.
    const after = objectsOnDisk(root);
    for (const [name, sha] of before) expect(after.get(name), name).toBe(sha);
    expect([...after.keys()].filter((n) => !before.has(n)).map((n) => n.split('/')[0])).toEqual(['index']);

    // The audit line is appended as the answer goes out: wait for it (no time bound that matters).
    await vi.waitFor(
      () => {
        const refused = audit().filter((e) => e.token === 'web-1' && e.status === 403 && e.result === 'append_only');
        for (const [method, name] of [
          ['DELETE', pack],
          ['PUT', snapshot],
          ['DELETE', snapshot],
          ['PUT', index],
          ['DELETE', index],
          ['DELETE', adminLock],
        ] as const)
          expect(
            refused.some((e) => e.method === method && e.path.endsWith(`/${name}`)),
            `${method} ${name} in the audit log`,
          ).toBe(true);
        // The rename has no route: refused (404) and audited as an attempted write.
        expect(
          audit().some(
            (e) => e.token === 'web-1' && e.method === 'MOVE' && e.status === 404 && e.result === 'no_route',
          ),
          'MOVE in the audit log',
        ).toBe(true);
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(readFileSync(path.join(stateDir, 'audit.log'), 'utf8')).not.toContain(
      readFileSync(appendToken, 'utf8').trim(),
    );
    expect(dropping!).toMatch(/^[0-9a-f]{64}$/);
  }, 300_000);

  it('the unmodified client with the append key: prune is refused, forget only adds requests', async () => {
    const before = objectsOnDisk(root);
    const prune = await lb(appendToken, APPEND, ['--json', 'prune']);
    expect(prune.code, show(prune)).toBe(1);
    expect(prune.stdout).toContain('role_refused');
    await ok(appendToken, APPEND, ['forget', '--keep-last', '1']);
    const after = objectsOnDisk(root);
    for (const [name, sha] of before) expect(after.get(name), name).toBe(sha);
    expect([...after.keys()].filter((n) => !before.has(n))).toEqual([`forget-requests/${versions[0]!.id}`]);
  }, 300_000);

  it('afterwards every earlier snapshot restores byte for byte, and the admin check --read-data and prune see every blob', async () => {
    const restoreAll = async (which: typeof versions) => {
      for (const v of which) {
        const target = path.join(dir, `restored-${v.id.slice(0, 8)}-${Date.now()}`);
        await ok(appendToken, APPEND, ['restore', v.id, '--target', target]);
        expect(compareTrees(scanTree(v.copy), scanTree(restoredPath(target, src)))).toEqual([]);
      }
    };
    await restoreAll(versions);
    await ok(adminToken, ADMIN, ['check', '--read-data']);
    // The admin prune applies the forget request (the older snapshot goes; the newer is its good copy) and
    // deletes only what no remaining snapshot needs: the forged index hid nothing.
    const prune = await ok(adminToken, ADMIN, ['--json', 'prune', '--grace', '0']);
    const summary = JSON.parse(prune.stdout.trim().split('\n').pop()!) as {
      forgetRequests: { applied: Array<{ snapshot: string }> };
      marked: { unindexedPacks: number };
    };
    expect(summary.forgetRequests.applied.map((a) => a.snapshot)).toEqual([versions[0]!.id]);
    expect(summary.marked.unindexedPacks).toBe(0);
    expect(await snapshotIds()).toEqual([versions[1]!.id]);
    await ok(adminToken, ADMIN, ['check', '--read-data']);
    await restoreAll(versions.slice(1));
  }, 600_000);
});
