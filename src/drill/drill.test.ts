import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRepo, openRepo, snapshotNodes } from '../../test/helpers/repo-lib.js';
import type { SourceConfigOf } from '../config/source-schemas.js';
import { packObjectName } from '../repository/ids.js';
import type { Repository } from '../repository/repository.js';
import { backupSource } from '../sources/run-source.js';
import { RunHistory } from '../state/history.js';
import { checkBackup } from '../verify/post-backup.js';
import { verify } from '../verify/verify.js';
import { runDrill } from './drill.js';
import { listDrillReports } from './store.js';

/**
 * Drills without a server: SQLite, files (plain and sealed) and command
 * sources, the failures a drill must report with their reason, and the
 * cleanup of an interrupted drill.
 */
const PASSWORD = 'drill-test-password';

describe('restore drills (sqlite, files, command)', () => {
  let dir: string;
  let repoDir: string;
  let repo: Repository;
  let scratch: string;
  let state: string;
  let db: SourceConfigOf<'sqlite'>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-'));
    repoDir = path.join(dir, 'repo');
    scratch = path.join(dir, 'scratch');
    state = path.join(dir, 'state');
    await import('node:fs/promises').then((fs) => fs.mkdir(scratch));
    repo = await initRepo(repoDir, PASSWORD);
    const file = path.join(dir, 'app.db');
    const d = new Database(file);
    d.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL); CREATE TABLE notes (body TEXT);`);
    const insert = d.prepare('INSERT INTO events (created_at) VALUES (?)');
    for (let i = 0; i < 50; i++) insert.run(new Date(Date.now() - i * 60_000).toISOString());
    d.close();
    db = { type: 'sqlite', path: file, rpo: '1h', rto: '5m' };
  });

  afterAll(async () => {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const leftovers = () => readdirSync(scratch);

  it('passes, stores the report in the repository and in local state, and writes Markdown, JSON and HTML', async () => {
    const backup = await backupSource(repo, 'app-db', db);
    expect(await checkBackup(repo, backup.snapshot, backup.record)).toEqual({ verified: true, reasons: [] });
    const reports = path.join(dir, 'reports');
    const { report, object, localFiles, reportFiles } = await runDrill(repo, {
      source: 'app-db',
      config: db,
      stateDir: state,
      reportDir: reports,
      tempBase: scratch,
    });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.snapshot.id).toBe(backup.snapshot.id);
    expect(report.checks.map((c) => c.name)).toEqual(['restore', 'integrity', 'tables', 'schemaHash']);
    expect(report.checks.find((c) => c.name === 'tables')).toMatchObject({
      expected: { events: 50, notes: 0 },
      actual: { events: 50, notes: 0 },
    });
    expect(report.rto).toMatchObject({ targetSeconds: 300, ok: true });
    expect(report.rpo).toMatchObject({
      measuredSeconds: null,
      targetSeconds: 3600,
      ok: null,
      basis: 'not measured: the source has no recent_data',
    });
    expect(report.freshness).toMatchObject({
      newestSnapshot: { id: backup.snapshot.id },
      targetSeconds: 3600,
      ok: true,
    });
    expect(leftovers()).toEqual([]);

    const listed = await listDrillReports(repo);
    expect(listed.reports.map((r) => r.object)).toContain(object);
    expect(JSON.parse(await readFile(localFiles!.json, 'utf8')).id).toBe(report.id);
    expect(await readFile(reportFiles!.markdown, 'utf8')).toContain('# Restore drill: PASS — app-db');
    const html = await readFile(reportFiles!.html, 'utf8');
    expect(html).toContain('<span class="verdict">PASS</span>');
    expect(html).not.toMatch(/<script|https?:\/\//);
    const history = RunHistory.open(state);
    expect(history.steps({ step: 'drill', source: 'app-db' })[0]).toMatchObject({
      outcome: 'ok',
      snapshot: backup.snapshot.id,
    });
    history.close();
  });

  it('chooses the same snapshot again for the same seed, among those within the window', async () => {
    for (let i = 0; i < 3; i++) await backupSource(repo, 'app-db', db);
    const pick = async (seed: number) =>
      (await runDrill(repo, { source: 'app-db', config: db, within: '1d', seed, store: false, tempBase: scratch }))
        .report.snapshot;
    const a = await pick(7);
    expect(a.selectedBy).toBe('random');
    expect(a.candidates).toBe(4);
    expect((await pick(7)).id).toBe(a.id);
    const ids = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) ids.add((await pick(seed)).id);
    expect(ids.size).toBeGreaterThan(1);
  });

  it('fails when a recorded row count no longer matches the restored data', async () => {
    const { snapshot } = await backupSource(repo, 'app-db', db);
    const { id: _id, ...plain } = snapshot;
    void _id;
    const record = (plain.metadata as { record: { tables: Record<string, number> } }).record;
    const tampered = await repo.saveSnapshot({
      ...plain,
      metadata: { ...plain.metadata, record: { ...record, tables: { ...record.tables, events: 51 } } },
    });
    const { report } = await runDrill(repo, {
      source: 'app-db',
      config: db,
      snapshot: tampered,
      store: false,
      tempBase: scratch,
    });
    expect(report.verdict).toBe('FAIL');
    expect(report.reasons).toEqual([
      expect.stringMatching(/^tables: expected \{"events":51,"notes":0\}, found \{"events":50,"notes":0\}/),
    ]);
    expect(leftovers()).toEqual([]);
  });

  it('judges the snapshot it drilled: a 10-day-old snapshot does not fail a 1-hour RPO, and the newest backup is shown apart', async () => {
    const { snapshot } = await backupSource(repo, 'app-db', db);
    const { id: _id, ...plain } = snapshot;
    void _id;
    const old = await repo.saveSnapshot({ ...plain, time: new Date(Date.now() - 10 * 86_400_000).toISOString() });
    const { report } = await runDrill(repo, {
      source: 'app-db',
      config: db,
      snapshot: old,
      store: false,
      tempBase: scratch,
    });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('PASS');
    expect(report.snapshot.id).toBe(old);
    expect(report.rpo.ok).toBe(null);
    expect(report.freshness).toMatchObject({ newestSnapshot: { id: snapshot.id }, ok: true });
    expect(report.freshness!.ageSeconds).toBeLessThan(3600);
  });

  it('fails when the smoke command exits 1, and passes the restored file to it', async () => {
    const seen = path.join(dir, 'smoke-saw');
    const smoke = `test -f "$LIFEBOAT_DRILL_FILE" && echo "$LIFEBOAT_DRILL_FILE" > ${seen}; echo 'app cannot open it' >&2; exit 1`;
    const { report } = await runDrill(repo, {
      source: 'app-db',
      config: { ...db, smoke },
      store: false,
      tempBase: scratch,
    });
    expect(report.verdict).toBe('FAIL');
    expect(report.smoke).toMatchObject({ ok: false, exitCode: 1 });
    expect(report.reasons).toEqual([expect.stringContaining('smoke command failed (exit 1)')]);
    expect(report.reasons[0]).toContain('app cannot open it');
    expect((await readFile(seen, 'utf8')).trim()).toMatch(new RegExp(`^${scratch}/lifeboat-verify-`));
    const ok = await runDrill(repo, {
      source: 'app-db',
      config: { ...db, smoke: `sqlite3 -version >/dev/null 2>&1 || true; test -s "$LIFEBOAT_DRILL_FILE"` },
      store: false,
      tempBase: scratch,
    });
    expect(ok.report.verdict).toBe('PASS');
  });

  it('verifies files and command sources by content hash, and sealed files by their stream hashes without the identity', async () => {
    const files = path.join(dir, 'conf');
    await import('node:fs/promises').then(async (fs) => {
      await fs.mkdir(files);
      await fs.writeFile(path.join(files, 'a.yaml'), 'a: 1\n');
      await fs.writeFile(path.join(files, 'b.yaml'), 'b: 2\n');
    });
    const conf = await backupSource(repo, 'conf', { type: 'files', paths: [files] });
    const v = await verify(repo, conf.snapshot, { tempBase: scratch });
    expect(v).toMatchObject({ ok: true, mode: 'source' });
    expect(v.checks.filter((c) => c.name !== 'restore')).toEqual([
      { name: 'files', ok: true, expected: 2, actual: 2 },
      { name: 'bytes', ok: true, expected: 10, actual: 10 },
    ]);

    const cmdConfig: SourceConfigOf<'command'> = {
      type: 'command',
      backup: 'echo release-42',
      restore: `cat > ${path.join(dir, 'must-not-exist')}`,
    };
    await backupSource(repo, 'version', cmdConfig);
    const drilled = await runDrill(repo, { source: 'version', config: cmdConfig, store: false, tempBase: scratch });
    expect(drilled.report.verdict).toBe('PASS');
    expect(drilled.report.checks.map((c) => c.name)).toEqual(['restore', 'bytes', 'sha256']);
    expect(existsSync(path.join(dir, 'must-not-exist')), 'a drill never runs the production restore command').toBe(
      false,
    );

    const identity = path.join(dir, 'offline.key');
    const keygen = spawnSync('age-keygen', ['-o', identity], { encoding: 'utf8' });
    const recipient = /Public key: (age1[0-9a-z]+)/.exec(keygen.stderr)![1]!;
    const sealedConfig: SourceConfigOf<'files'> = { type: 'files', paths: [files], seal_to: [recipient] };
    await backupSource(repo, 'secrets', sealedConfig);
    const sealed = await runDrill(repo, { source: 'secrets', config: sealedConfig, store: false, tempBase: scratch });
    expect(sealed.report.verdict).toBe('PASS');
    expect(sealed.report.mode).toMatch(/^sealed streams only/);
    expect(sealed.report.checks).toEqual([
      { name: 'sealed files', ok: true, expected: 2, actual: 2 },
      { name: 'sealed stream hashes', ok: true, expected: 2, actual: 2 },
    ]);
    const unsealed = await runDrill(repo, {
      source: 'secrets',
      config: sealedConfig,
      identity,
      store: false,
      tempBase: scratch,
    });
    expect(unsealed.report.verdict).toBe('PASS');
    expect(unsealed.report.checks.map((c) => c.name)).toEqual(['restore', 'files', 'bytes']);
    expect(leftovers()).toEqual([]);
  });

  it('an interrupted drill leaves no directory or process behind', async () => {
    await backupSource(repo, 'app-db', db);
    const pidFile = path.join(dir, 'smoke.pid');
    const controller = new AbortController();
    const smoke = `echo $$ > ${pidFile}; sleep 30 & wait`;
    const drill = runDrill(repo, {
      source: 'app-db',
      config: { ...db, smoke },
      signal: controller.signal,
      tempBase: scratch,
      stateDir: path.join(dir, 'state-interrupted'),
    });
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(leftovers().length, 'the scratch copy exists while the smoke command runs').toBe(1);
    controller.abort();
    await expect(drill).rejects.toThrow(/interrupted/);
    expect(leftovers()).toEqual([]);
    expect(() => process.kill(pid, 0), 'the smoke command was stopped').toThrow();
    // Live members of its process group (a killed child may be a zombie for a moment until init reaps it).
    const live = () =>
      spawnSync('ps', ['-o', 'stat=', '-g', String(pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((s) => s.trim() && !s.startsWith('Z'));
    expect(live(), 'nothing of its process group is left').toEqual([]);
    expect(existsSync(path.join(dir, 'state-interrupted', 'drills')), 'no report for an interrupted drill').toBe(false);
  });

  // These two damage the repository: they run last.
  it('fails with the reason when the snapshot data was corrupted in the repository', async () => {
    const { snapshot } = await backupSource(repo, 'app-db', { ...db, path: db.path });
    const node = (await snapshotNodes(repo, snapshot)).get(path.resolve(db.path))!;
    const loc = repo.index.lookup(Buffer.from(node.content![0]!, 'hex'))!;
    const packFile = path.join(repoDir, packObjectName(loc.packId));
    const bytes = await readFile(packFile);
    bytes[loc.offset + 20] = bytes[loc.offset + 20]! ^ 0xff;
    await writeFile(packFile, bytes);
    const fresh = await openRepo(repoDir, PASSWORD);
    try {
      const { report } = await runDrill(fresh, {
        source: 'app-db',
        config: db,
        snapshot: snapshot.id,
        store: false,
        tempBase: scratch,
      });
      expect(report.verdict).toBe('FAIL');
      expect(report.checks).toEqual([expect.objectContaining({ name: 'restore', ok: false })]);
      expect(report.reasons[0]).toMatch(
        /^restore: expected a complete, authenticated restore, found failed \(.*failed authentication/,
      );
      expect(leftovers()).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('reports a backup whose pack went missing as not verified', async () => {
    const { snapshot, record } = await backupSource(repo, 'notes', {
      type: 'command',
      backup: 'head -c 300000 /dev/urandom',
    });
    const node = (await snapshotNodes(repo, snapshot)).get('/command/notes.out')!;
    const loc = repo.index.lookup(Buffer.from(node.content![0]!, 'hex'))!;
    await unlink(path.join(repoDir, packObjectName(loc.packId)));
    const check = await checkBackup(repo, snapshot, record);
    expect(check.verified).toBe(false);
    expect(check.reasons).toContain(`pack ${loc.packId.slice(0, 12)} is missing from storage`);
  });
});
