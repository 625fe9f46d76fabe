import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, prng, seededBytes } from '../helpers/e2e.js';
import { openStorage } from '../../src/storage/registry.js';
import { Repository } from '../../src/repository/repository.js';
import { open, unlock, type ObjectKind, type WriteOnlyKey } from '../../src/repository/crypto/index.js';
import { packObjectName } from '../../src/repository/ids.js';

/**
 * Write-only keys with the real CLI on a real local repository: an admin host
 * backs up, adds a write-only key; the write-only host backs up twice
 * (deduplicated against the admin host's data; the second run reads only the
 * changed file), is refused every command that reads or changes the
 * repository, and with everything it holds (its slot, its local state) opens
 * no object of the repository; the admin restores both of its snapshots byte
 * for byte.
 */
describe('write-only keys', () => {
  const ADMIN = 'the admin passphrase of this repository';
  const WRITE_ONLY = 'the passphrase of the web-2 write-only key';
  let dir: string;
  let repo: string;
  let data: string;
  let cleanup: () => Promise<void>;
  const snapshots: Array<{ id: string; copy: string }> = [];
  const lb = (password: string, args: string[], state = 'state-admin') =>
    runCli(['--repo', repo, ...args], {
      env: cliEnvFor(path.join(dir, `cache-${state}`), password, { LIFEBOAT_STATE_DIR: path.join(dir, state) }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const ok = async (password: string, args: string[], state?: string) => {
    const r = await lb(password, args, state);
    expect(r.code, show(r)).toBe(0);
    return r;
  };
  type Summary = { snapshot: { id: string; parent: string | null }; summary: Record<string, number> };
  const lastLine = <T>(r: CliResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
  const writeOnlyBackup = async (state = 'state-web-2') =>
    lastLine<Summary>(await ok(WRITE_ONLY, ['--json', 'backup', '--host', 'web-2', data], state));
  const storedObjects = () => {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(path.join(repo, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(p);
        else
          out[p] = createHash('sha256')
            .update(readFileSync(path.join(repo, p)))
            .digest('hex');
      }
    };
    walk('');
    return out;
  };
  const BIG = 3 * 1024 * 1024;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-write-only-'));
    repo = path.join(dir, 'repo');
    const shared = path.join(dir, 'shared');
    data = path.join(dir, 'data');
    mkdirSync(shared);
    mkdirSync(path.join(data, 'sub'), { recursive: true });
    // The same big file on the admin host and on the write-only host: stored once.
    const big = seededBytes(prng(48), BIG);
    writeFileSync(path.join(shared, 'big.bin'), big);
    writeFileSync(path.join(data, 'big.bin'), big);
    writeFileSync(path.join(data, 'own.txt'), 'web-2 only, first version\n');
    writeFileSync(path.join(data, 'sub', 'c.txt'), 'unchanged\n');
    await ok(ADMIN, ['init']);
    await ok(ADMIN, ['backup', '--host', 'admin-host', shared]);
  }, 120_000);
  afterAll(() => cleanup());

  it('key add --role write-only adds one (the repository moves to format version 2) and key list shows its role', async () => {
    const r = await runCli(['--repo', repo, 'key', 'add', '--role', 'write-only', '--label', 'web-2'], {
      env: cliEnvFor(path.join(dir, 'cache-admin'), ADMIN, { LIFEBOAT_NEW_PASSWORD: WRITE_ONLY }),
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/added key [0-9a-f]{8} with role write-only/);
    const keys = lastLine<{ keys: Array<{ role: string; label?: string }> }>(
      await ok(ADMIN, ['--json', 'key', 'list']),
    ).keys;
    expect(keys.map((k) => k.role).sort()).toEqual(['admin', 'write-only']);
    // Every index file written before has its presence sidecar.
    const objects = Object.keys(storedObjects());
    const indexes = objects.filter((n) => n.startsWith('index/')).map((n) => n.slice(6));
    expect(indexes.length).toBeGreaterThan(0);
    for (const id of indexes) expect(objects).toContain(`presence/${id}`);
  });

  it('the write-only host backs up, deduplicated against the admin host, then reads only the changed file', async () => {
    const first = await writeOnlyBackup();
    expect(first.summary.bytes).toBeGreaterThan(BIG);
    // The big file was stored by the admin host: only the small own files are new.
    expect(first.summary.addedBytes).toBeLessThan(BIG / 10);
    snapshots.push({ id: first.snapshot.id, copy: path.join(dir, 'expected-1') });
    cpSync(data, snapshots[0]!.copy, { recursive: true });

    writeFileSync(path.join(data, 'own.txt'), 'web-2 only, second version, longer\n');
    const second = await writeOnlyBackup();
    expect(second.snapshot.parent).toBe(first.snapshot.id);
    expect(second.summary.filesRead).toBe(1);
    expect(second.summary.files).toBe(3);
    expect(second.summary.addedBytes).toBeLessThan(1000);
    snapshots.push({ id: second.snapshot.id, copy: path.join(dir, 'expected-2') });
    cpSync(data, snapshots[1]!.copy, { recursive: true });

    // Without its local state (a new machine), every file is read again and still nothing is stored twice.
    const fresh = await writeOnlyBackup('state-web-2-new');
    expect(fresh.snapshot.parent).toBeNull();
    expect(fresh.summary.filesRead).toBe(3);
    expect(fresh.summary.addedBytes).toBe(0);
  }, 120_000);

  it('every command that reads or changes the repository is refused with role_refused, touching nothing', async () => {
    const before = storedObjects();
    const id = snapshots[0]!.id;
    for (const args of [
      ['restore', id, '--target', path.join(dir, 'never')],
      ['dump', id, path.join(data, 'own.txt')],
      ['ls', id],
      ['check', '--read-data'],
      ['snapshots'],
      ['key', 'list'],
      ['key', 'export'],
      ['forget', '--keep-last', '1'],
      ['prune'],
    ]) {
      const r = await lb(WRITE_ONLY, ['--json', ...args], 'state-web-2');
      expect(r.code, `${args.join(' ')}: ${show(r)}`).toBe(1);
      expect(r.stdout + r.stderr, args.join(' ')).toContain('role_refused');
    }
    expect(storedObjects()).toEqual(before);
  }, 120_000);

  it('with everything the write-only host holds, no pack blob, index, snapshot or config opens; the library refuses it', async () => {
    const storage = await openStorage(repo);
    let held: WriteOnlyKey | undefined;
    for await (const o of unlock(storage, { kind: 'password', password: Buffer.from(WRITE_ONLY), source: 'test' }))
      if ('writeOnly' in o) held = o.writeOnly;
    expect(held).toBeDefined();
    const w = held!;
    // Its local state holds its trees, sealed under its state key: it is no key to the repository either.
    const candidates = [w.publicKey, w.blobId, w.chunker, w.presence, w.state];
    const asSession = candidates.flatMap((k) => candidates.map((e) => Buffer.concat([e, k])));
    const tries = [...candidates, ...asSession];
    const cannotOpen = (kind: ObjectKind, sealed: Buffer, context?: Buffer) => {
      for (const k of tries) expect(() => open(k, kind, sealed, context), kind).toThrow();
    };
    await expect(
      Repository.open(storage, { kind: 'password', password: Buffer.from(WRITE_ONLY), source: 'test' }),
    ).rejects.toMatchObject({ code: 'role_refused' });

    // The admin locates every blob; the write-only host's keys open none of them.
    const admin = await Repository.open(await openStorage(repo), {
      kind: 'password',
      password: Buffer.from(ADMIN),
      source: 'test',
    });
    try {
      await admin.loadIndex();
      let blobs = 0;
      for (const loc of admin.index.entries()) {
        const sealed = await storage.getRange(packObjectName(loc.packId), loc.offset, loc.length);
        cannotOpen('blob', sealed, loc.id);
        blobs++;
      }
      expect(blobs).toBeGreaterThan(5);
      for (const o of await storage.list('index/')) cannotOpen('index', await storage.get(o.name));
      for (const o of await storage.list('snapshots/')) cannotOpen('snapshot', await storage.get(o.name));
      cannotOpen('config', await storage.get('config'));
    } finally {
      await admin.close();
    }
  }, 120_000);

  it('the admin restores both snapshots of the write-only host byte for byte', async () => {
    for (const [i, s] of snapshots.entries()) {
      const target = path.join(dir, `restored-${i}`);
      await ok(ADMIN, ['restore', s.id, '--target', target]);
      const root = path.join(target, data);
      for (const f of ['big.bin', 'own.txt', 'sub/c.txt'])
        expect(readFileSync(path.join(root, f)).equals(readFileSync(path.join(s.copy, f))), f).toBe(true);
    }
    const check = await ok(ADMIN, ['check', '--read-data']);
    expect(check.stdout + check.stderr).toContain('no errors found');
  }, 120_000);
});
