import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger, ledgerDirFor } from './ledger.js';
import { currentOwner, ownerState, procStat } from './owner.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-ledger-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Ledger', () => {
  it('writes one 0600 record per resource in a 0700 directory, lists and forgets them', async () => {
    const ledger = new Ledger(path.join(dir, 'leftovers'));
    expect(await ledger.list()).toEqual({ records: [], unreadable: [], staleTemporaries: [] });
    const db = await ledger.add(
      {
        kind: 'database',
        engine: 'mysql',
        database: 'lifeboat_drill_00aa11bb22cc',
        server: { host: 'db', port: 3306, user: 'backup' },
      },
      { source: 'shop', id: 'database-mysql-lifeboat_drill_00aa11bb22cc' },
    );
    const snap = await ledger.add(
      {
        kind: 'tsdb-snapshot',
        engine: 'victoriametrics',
        url: 'http://127.0.0.1:8428',
        dataDir: '/var/lib/vm',
        snapshot: null,
        requestedAt: new Date().toISOString(),
      },
      { source: 'tsdb' },
    );
    const named = await ledger.update(snap, {
      ...snap.resource,
      snapshot: '20300101120000-17A0B1C2D3E4F5',
    } as typeof snap.resource);
    expect((await stat(ledger.dir)).mode & 0o777).toBe(0o700);
    const files = (await readdir(ledger.dir)).sort();
    expect(files).toEqual([`${db.id}.json`, `${snap.id}.json`].sort());
    for (const f of files) expect((await stat(path.join(ledger.dir, f))).mode & 0o777).toBe(0o600);
    const listed = await ledger.list();
    expect(listed.records.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [db, named].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(db).toMatchObject({ source: 'shop', owner: { pid: process.pid, host: os.hostname() } });
    await ledger.forget(db.id);
    await ledger.forget(db.id); // idempotent
    expect((await ledger.list()).records.map((r) => r.id)).toEqual([snap.id]);
  });

  it("refuses records that would let a sweep remove what is not Lifeboat's", async () => {
    const ledger = new Ledger(dir);
    const foreign = [
      {
        kind: 'database',
        engine: 'postgres',
        database: 'production',
        server: { host: 'db', port: 5432, user: 'postgres' },
      },
      { kind: 'directory', path: '/home/user' },
      { kind: 'directory', path: 'relative/lifeboat-verify-abcdef' },
      {
        kind: 'tsdb-snapshot',
        engine: 'prometheus',
        url: 'x',
        dataDir: '/prom',
        snapshot: '../../etc',
        requestedAt: '',
      },
      { kind: 'process', pid: 1, start: 5, label: 'init', group: false },
    ];
    for (const [i, resource] of foreign.entries()) {
      const record = { format: 1, id: `bad-${i}`, owner: currentOwner(), createdAt: '', source: null, resource };
      await writeFile(path.join(dir, `bad-${i}.json`), JSON.stringify(record));
    }
    const listed = await ledger.list();
    expect(listed.records).toEqual([]);
    expect(listed.unreadable.map((u) => path.basename(u.file)).sort()).toEqual(foreign.map((_, i) => `bad-${i}.json`));
  });

  it('lives in state_dir when the config sets one, else in the cache root', () => {
    expect(ledgerDirFor('/var/lib/lifeboat')).toBe('/var/lib/lifeboat/leftovers');
    expect(ledgerDirFor(undefined, { LIFEBOAT_CACHE_DIR: '/c' })).toBe('/c/leftovers');
  });
});

describe('ownerState', () => {
  it('knows this process, a process that ended, a reused pid and another host', async () => {
    const me = currentOwner();
    expect(me.start).toBe(procStat(process.pid)!.start);
    expect(ownerState(me)).toBe('alive');
    const child = spawn('true');
    await once(child, 'exit');
    expect(ownerState({ ...me, pid: child.pid! })).toBe('dead');
    expect(ownerState({ ...me, start: me.start! + 1 })).toBe('dead'); // same pid, another process
    expect(ownerState({ ...me, boot: 'another-boot' })).toBe('dead');
    expect(ownerState({ ...me, host: 'elsewhere.example' })).toBe('foreign');
    expect(ownerState({ ...me, pidns: 'pid:[1]' })).toBe('foreign');
  });
});
