import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Repository } from '../repository/repository.js';
import { loadCatalog } from '../sources/postgres/pitr/catalog.js';
import { spoolWal } from '../sources/postgres/pitr/spool.js';
import { openStorage } from '../storage/registry.js';
import { startDaemon, type Daemon } from './daemon.js';

const PASSWORD = 'daemon pitr passphrase';

/**
 * `serve` drains the `wal-push --async` spool of a postgres source with
 * `pitr:` into the repository, shows WAL archiving in /metrics and the status
 * document, and alerts when the spool cannot be drained and falls behind the
 * source's RPO. The server is unreachable here (port 1): that its archiving
 * and the scheduled base backup could not run is reported, not hidden.
 */
describe('lifeboat serve with a postgres source with pitr (in process)', () => {
  let dir: string;
  let daemon: Daemon | undefined;
  let token: string;
  const call = async (pathname: string) => {
    const res = await fetch(`${daemon!.url}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
    return res.text();
  };
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    // Generous: the daemon drains every 5 s and opens the repository first; a loaded machine may take far longer.
    for (let i = 0; i < 1200; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-daemon-pitr-'));
    writeFileSync(path.join(dir, 'repo.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    const repo = await Repository.init(
      await openStorage(path.join(dir, 'repo'), { create: true }),
      Buffer.from(PASSWORD),
    );
    await repo.close();
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drains the spool, reports WAL archiving, and alerts on a spool it cannot drain', async () => {
    const spool = path.join(dir, 'spool');
    const segs = ['000000010000000000000001', '000000010000000000000002'];
    for (const s of segs) {
      writeFileSync(path.join(dir, s), randomBytes(64 * 1024));
      await spoolWal(spool, path.join(dir, s));
    }
    const loaded = parseConfig(
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  db:
    type: postgres
    url: postgres://postgres@127.0.0.1:1/postgres
    rpo: 10m
    pitr: { wal: archive, spool_dir: ./spool, base_backup: 1d }
`,
      path.join(dir, 'lifeboat.yaml'),
    );
    daemon = await startDaemon(loaded, {
      listen: '127.0.0.1:0',
      cacheRoot: path.join(dir, 'cache'),
      alertIntervalMs: 200,
    });
    token = readFileSync(daemon.tokenFile, 'utf8').trim();

    await until('the spool to be drained', () => readdirSync(spool).length === 0);
    const repo = await Repository.open(await openStorage(path.join(dir, 'repo')), {
      kind: 'password',
      password: Buffer.from(PASSWORD),
      source: 'test',
    });
    try {
      expect([...(await loadCatalog(repo, 'db')).files.keys()].sort()).toEqual(segs);
    } finally {
      await repo.close();
    }

    let metrics = '';
    await until('the archived segment in /metrics', async () => {
      metrics = await call('/metrics');
      return /lifeboat_wal_last_archived_timestamp_seconds\{source="db"\} \d/.test(metrics);
    });
    expect(metrics).toMatch(/lifeboat_wal_segments_spooled\{source="db"\} 0\n/);
    expect(metrics).toMatch(/lifeboat_wal_archive_lag_seconds\{source="db"\} 0\n/);

    type Wal = { last_archived_wal: string; spooled: number; running: boolean; problems: string[]; ok: boolean };
    let wal: Wal | undefined;
    await until('the failed base backup and server check in the status', async () => {
      const doc = JSON.parse(await call('/api/v1/system/backup/status')) as { sources: Record<string, { wal?: Wal }> };
      wal = doc.sources.db!.wal;
      return Boolean(wal?.problems.some((p) => /base backup failed/.test(p)));
    });
    expect(wal).toMatchObject({ last_archived_wal: segs[1], spooled: 0, running: true, ok: false });
    expect(wal!.problems.join('\n')).toMatch(/archiving could not be read/);

    // The same name with other content cannot be stored: the spool keeps it, and once it is older than the RPO the lag alert fires.
    const conflicting = path.join(dir, 'other', segs[0]!);
    (await import('node:fs')).mkdirSync(path.dirname(conflicting));
    writeFileSync(conflicting, randomBytes(1024));
    await spoolWal(spool, conflicting);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(path.join(spool, segs[0]!), twoHoursAgo, twoHoursAgo);
    let alerts: Array<{ rule: string; message: string }> = [];
    await until('the WAL alerts', async () => {
      alerts = (JSON.parse(await call('/api/v1/alerts')) as { active: typeof alerts }).active;
      return (
        alerts.some((a) => a.rule === 'wal_archive_lag') && alerts.some((a) => /never overwritten/.test(a.message))
      );
    });
    expect(alerts.find((a) => a.rule === 'wal_archive_lag')!.message).toMatch(/1 segment\(s\) waiting in the spool/);
    expect(existsSync(path.join(spool, segs[0]!))).toBe(true);
    metrics = await call('/metrics');
    expect(metrics).toMatch(/lifeboat_wal_segments_spooled\{source="db"\} 1\n/);
    expect(metrics).toMatch(/lifeboat_wal_archiving_ok\{source="db"\} 0\n/);

    await daemon.stop();
    daemon = undefined;
    expect(JSON.parse(readFileSync(path.join(dir, 'state', 'pitr', 'db', 'archiver.json'), 'utf8'))).toMatchObject({
      running: false,
    });
  }, 300_000);
});
