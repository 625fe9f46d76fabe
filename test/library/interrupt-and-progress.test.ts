import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backup,
  check,
  copy,
  ErrorCode,
  forget,
  handover,
  listSnapshots,
  openConfig,
  openRepository,
  prune,
  restore,
  runDrill,
  runJob,
  verify,
  type BackupProgress,
  type CopyProgress,
  type PruneProgress,
  type Repository,
  type RestoreProgress,
  type SnapshotEntry,
  type VerifyProgress,
} from '../../src/index.js';
import { newRepo, noise } from '../../src/copier/testing/fixture.js';
import { RunHistory } from '../../src/state/history.js';
import { expectRejectsCode } from '../../src/repository/testing/helpers.js';

/**
 * Every long operation of the library stops through its AbortSignal at the
 * next safe point — rejecting with `interrupted`, the code the CLI exits 130
 * with — and leaves a repository that passes check with no lock held; and
 * its progress callback sees counters that only grow. Real repositories on
 * disk, with enough files and packs that each operation has a middle.
 */
describe('the library: abort signal and progress of each long operation', () => {
  const FILES = 24;
  let work: string;
  let data: string;
  let repo: Repository;
  let first: SnapshotEntry;
  const opened: Repository[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-lib-abort-'));
    data = path.join(work, 'data');
    await mkdir(data);
    for (let i = 0; i < FILES; i++)
      await writeFile(path.join(data, `f${String(i).padStart(2, '0')}.bin`), noise(i, 300_000));
    // Small packs: check, prune and copy have many packs to go through.
    repo = await newRepo(path.join(work, 'repo'), 'pw', { packSize: 128 * 1024 });
    opened.push(repo);
    first = (await backup(repo, { paths: [data], tags: ['first'] })).snapshot;
  });
  afterAll(async () => {
    for (const r of opened) await r.close();
    await rm(work, { recursive: true, force: true });
  });

  /** The repository is whole and nobody holds its lock. */
  const expectSound = async (r: Repository) => {
    expect(await r.storage.list('locks/')).toEqual([]);
    const report = await check(r);
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.ok).toBe(true);
  };
  /** Counters that never go down from one report to the next. */
  const expectGrowing = <T>(reports: T[], ...fields: Array<keyof T>) => {
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < reports.length; i++)
      for (const f of fields) expect(reports[i]![f] as number).toBeGreaterThanOrEqual(reports[i - 1]![f] as number);
    for (const f of fields) expect(reports.at(-1)![f] as number).toBeGreaterThan(reports[0]![f] as number);
  };

  it('backup: stopped after a few files, no snapshot saved; progress grows to the summary', async () => {
    const controller = new AbortController();
    const before = (await listSnapshots(repo)).snapshots.length;
    await expectRejectsCode(
      backup(repo, {
        paths: [data],
        force: true,
        signal: controller.signal,
        onProgress: (p) => p.filesDone >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect((await listSnapshots(repo)).snapshots.length).toBe(before);
    await expectSound(repo);

    const reports: BackupProgress[] = [];
    const { snapshot } = await backup(repo, { paths: [data], force: true, onProgress: (p) => reports.push(p) });
    expectGrowing(reports, 'filesDone', 'bytesDone');
    expect(reports.at(-1)).toMatchObject({ phase: 'done', filesDone: snapshot.summary.files });
  });

  it('restore: stopped after a few files; progress grows to every file', async () => {
    const controller = new AbortController();
    await expectRejectsCode(
      restore(repo, first, {
        target: path.join(work, 'restore-stopped'),
        signal: controller.signal,
        onProgress: (p) => p.filesDone >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    await expectSound(repo);

    const reports: RestoreProgress[] = [];
    const done = await restore(repo, first, {
      target: path.join(work, 'restored'),
      onProgress: (p) => reports.push(p),
    });
    expectGrowing(reports, 'filesDone', 'bytesDone');
    expect(reports.at(-1)!.filesDone).toBe(done.files);
    expect(done.files).toBe(FILES);
  });

  it('copy: stopped mid-way, the destination has no snapshot and passes check; progress grows', async () => {
    const dest = await newRepo(path.join(work, 'copy-dest'), 'other pw', { packSize: 128 * 1024 });
    opened.push(dest);
    const controller = new AbortController();
    await expectRejectsCode(
      copy(repo, dest, {
        tags: ['first'],
        signal: controller.signal,
        onProgress: (p) => p.filesDone >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect((await listSnapshots(dest)).snapshots).toEqual([]);
    await expectSound(dest);
    await expectSound(repo);

    const reports: CopyProgress[] = [];
    const result = await copy(repo, dest, { tags: ['first'], onProgress: (p) => reports.push(p) });
    expect(result.copied).toHaveLength(1);
    expectGrowing(reports, 'filesDone', 'bytesDone');
    expect(reports.at(-1)!.snapshotsDone).toBe(1);
  });

  it('check --read-data: stopped after a few packs; progress counts every pack', async () => {
    const controller = new AbortController();
    await expectRejectsCode(
      check(repo, {
        readDataPercent: 100,
        signal: controller.signal,
        onProgress: (p) => p.packsRead >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect(await repo.storage.list('locks/')).toEqual([]);

    const reports: Array<{ packsRead: number; packsTotal: number; bytesRead: number }> = [];
    const report = await check(repo, { readDataPercent: 100, onProgress: (p) => reports.push(p) });
    expect(report.ok).toBe(true);
    expectGrowing(reports, 'packsRead', 'bytesRead');
    expect(reports.at(-1)!.packsRead).toBe(reports.at(-1)!.packsTotal);
  });

  it('forget: stopped after the first removal, the rest stay; progress counts removals', async () => {
    for (let i = 0; i < 4; i++) await backup(repo, { paths: [data], tags: ['forget-me'] });
    const controller = new AbortController();
    const seen: number[] = [];
    await expectRejectsCode(
      forget(repo, {
        policy: { keepLast: 1 },
        tags: ['forget-me'],
        force: true,
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.removed);
          controller.abort();
        },
      }),
      ErrorCode.Interrupted,
    );
    expect(seen).toEqual([1]);
    expect((await listSnapshots(repo, { tags: ['forget-me'] })).snapshots).toHaveLength(3);
    await expectSound(repo);

    const reports: Array<{ removed: number; total: number }> = [];
    await forget(repo, {
      policy: { keepLast: 1 },
      tags: ['forget-me'],
      force: true,
      onProgress: (p) => reports.push(p),
    });
    expect(reports).toEqual([
      { removed: 1, total: 2 },
      { removed: 2, total: 2 },
    ]);
  });

  it('prune: stopped while walking the snapshots, nothing marked or deleted; progress reaches done', async () => {
    // Data only the forgotten snapshots used: something to reclaim.
    const extra = path.join(work, 'extra');
    await mkdir(extra);
    for (let i = 0; i < 8; i++) await writeFile(path.join(extra, `x${i}`), noise(100 + i, 300_000));
    await backup(repo, { paths: [extra], tags: ['gone'] });
    // The same path again, its big files gone: the first snapshot is the only one using them.
    await rm(extra, { recursive: true });
    await mkdir(extra);
    await writeFile(path.join(extra, 'small.txt'), 'the newer snapshot of the tag\n');
    await backup(repo, { paths: [extra], tags: ['gone'] });
    const forgotten = await forget(repo, { policy: { keepLast: 1 }, tags: ['gone'], force: true });
    expect(forgotten.removed).toHaveLength(1);

    const packsBefore = (await repo.storage.list('data/')).length;
    const controller = new AbortController();
    await expectRejectsCode(
      prune(repo, {
        graceMs: 0,
        signal: controller.signal,
        onProgress: (p) => p.trees >= 1 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect(await repo.storage.list('prune/')).toEqual([]);
    expect((await repo.storage.list('data/')).length).toBe(packsBefore);
    await expectSound(repo);

    const reports: PruneProgress[] = [];
    const result = await prune(repo, { graceMs: 0, onProgress: (p) => reports.push(p) });
    expect(result.sweep?.plan.delete.length).toBeGreaterThan(0);
    expect(reports.some((p) => p.phase === 'loading' && p.trees > 0)).toBe(true);
    const sweeping = reports.filter((p) => p.phase === 'sweeping' || p.phase === 'done').map((p) => p.packs);
    expect(sweeping.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < sweeping.length; i++) expect(sweeping[i]!).toBeGreaterThanOrEqual(sweeping[i - 1]!);
    expect(reports.at(-1)).toMatchObject({ phase: 'done', packs: result.sweep!.plan.delete.length });
    expect((await repo.storage.list('data/')).length).toBeLessThan(packsBefore);
    await expectSound(repo);
  });

  it('verify: stopped during its scratch restore, the scratch copy removed; progress grows', async () => {
    const scratch = path.join(work, 'verify-scratch');
    await mkdir(scratch);
    const controller = new AbortController();
    await expectRejectsCode(
      verify(repo, first, {
        tempBase: scratch,
        signal: controller.signal,
        onProgress: (p) => p.filesDone >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect(await readdir(scratch)).toEqual([]);
    await expectSound(repo);

    const reports: VerifyProgress[] = [];
    const result = await verify(repo, first, { tempBase: scratch, onProgress: (p) => reports.push(p) });
    expect(result.ok).toBe(true);
    expectGrowing(reports, 'filesDone', 'bytesDone');
    expect(reports.at(-1)).toMatchObject({ phase: 'done', filesDone: FILES });
  });

  it('drill: stopped during its restore, no report stored; progress grows', async () => {
    const source = 'lib-drill';
    await backup(repo, { paths: [data], source });
    const scratch = path.join(work, 'drill-scratch');
    await mkdir(scratch);
    const controller = new AbortController();
    await expectRejectsCode(
      runDrill(repo, {
        source,
        tempBase: scratch,
        signal: controller.signal,
        onProgress: (p) => p.filesDone >= 3 && controller.abort(),
      }),
      ErrorCode.Interrupted,
    );
    expect(await repo.storage.list('drill/')).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
    await expectSound(repo);

    const reports: VerifyProgress[] = [];
    const result = await runDrill(repo, { source, tempBase: scratch, onProgress: (p) => reports.push(p) });
    expect(result.report.checks.every((c) => c.ok)).toBe(true);
    expectGrowing(reports, 'filesDone', 'bytesDone');
  });

  describe('with a configuration', () => {
    let config: string;
    beforeAll(async () => {
      await writeFile(path.join(work, 'repo.pass'), 'pw\n', { mode: 0o600 });
      await newRepo(path.join(work, 'second'), 'pw').then((r) => r.close());
      config = path.join(work, 'lifeboat.yaml');
      await writeFile(
        config,
        `version: 1
state_dir: ./state
repositories:
  main: { url: ./repo, password_file: repo.pass }
  second: { url: ./second, password_file: repo.pass }
sources:
  app: { type: files, paths: [./data] }
jobs:
  nightly: { sources: [app], to: second }
`,
      );
    });

    it('runJob: stopped as its backup starts, rejected, recorded as failed, no snapshot saved; progress counts steps', async () => {
      const loaded = openConfig(config);
      const controller = new AbortController();
      const steps: Array<{ stepsDone: number; running?: string }> = [];
      await expectRejectsCode(
        runJob(loaded, 'nightly', {
          signal: controller.signal,
          onProgress: (p) => {
            steps.push({ stepsDone: p.stepsDone, running: p.current?.step });
            if (p.current) controller.abort();
          },
        }),
        ErrorCode.Interrupted,
      );
      const history = RunHistory.open(path.join(work, 'state'));
      expect(history.runs('nightly').map((r) => r.outcome)).toEqual(['failed']);
      history.close();
      expect(steps[0]).toEqual({ stepsDone: 0, running: 'backup' });
      const second = await openRepository(loaded, 'second');
      opened.push(second);
      expect((await listSnapshots(second)).snapshots).toEqual([]);
      await expectSound(second);

      const reports: number[] = [];
      const done = await runJob(loaded, 'nightly', { onProgress: (p) => reports.push(p.stepsDone) });
      expect(done.outcome).toBe('ok');
      expect(reports.at(-1)).toBe(done.steps.length);
      for (let i = 1; i < reports.length; i++) expect(reports[i]!).toBeGreaterThanOrEqual(reports[i - 1]!);
      expect((await listSnapshots(second)).snapshots).toHaveLength(1);
    });

    it('handover: stopped after the first repository, no pack file written; progress counts repositories', async () => {
      const loaded = openConfig(config);
      const out = path.join(work, 'pack-stopped');
      const controller = new AbortController();
      await expectRejectsCode(
        handover(loaded, { out, signal: controller.signal, onProgress: () => controller.abort() }),
        ErrorCode.Interrupted,
      );
      expect(await readdir(out).catch(() => [])).toEqual([]);

      const reports: Array<{ repositoriesRead: number; repositoriesTotal: number }> = [];
      const result = await handover(loaded, { out: path.join(work, 'pack'), onProgress: (p) => reports.push(p) });
      expect(result.ok).toBe(true);
      expect(reports).toEqual([
        { repositoriesRead: 1, repositoriesTotal: 2 },
        { repositoriesRead: 2, repositoriesTotal: 2 },
      ]);
    });
  });
});
