/**
 * `serve`'s continuous work for every postgres source with `pitr:`: one loop
 * drains the `wal-push --async` spool into the repository every few seconds
 * (in stream mode also ships what pg_receivewal wrote, partial segment
 * included, see `wal-receiver.ts`) and reads the server's own archiving
 * state; another takes a base backup
 * whenever the newest one is older than `pitr.base_backup`. Both report into
 * the archiver status file (`wal-archiver-status.ts`), which status, /metrics
 * and alerts read. A failure is written there, and the loop starts again
 * after a pause.
 *
 * @module
 */

import type { LifeboatConfig, RepositoryConfig } from '../config/schema.js';
import type { SourceConfigOf } from '../config/source-schemas.js';
import { parseDuration } from '../config/duration.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { serverArchiveStatus } from '../sources/postgres/pitr/archive-status.js';
import { takeBaseBackup } from '../sources/postgres/pitr/base-backup.js';
import { loadCatalog, type WalCatalog } from '../sources/postgres/pitr/catalog.js';
import { spoolDirFor } from '../sources/postgres/pitr/spool-dir.js';
import { drainSpool } from '../sources/postgres/pitr/spool-drain.js';
import { spooledFiles } from '../sources/postgres/pitr/spool.js';
import { shipStreamed, type ShippedFiles } from '../sources/postgres/pitr/stream-ship.js';
import { pause } from '../util/pause.js';
import { writeArchiverStatus, type WalArchiverStatus } from './wal-archiver-status.js';
import { runWalReceiver, streamDirFor } from './wal-receiver.js';

export interface PitrSource {
  name: string;
  config: SourceConfigOf<'postgres'>;
}

export interface WalArchivingOptions {
  stateDir: string;
  log: (line: string) => void;
  signal: AbortSignal;
  cacheRoot?: string;
  /**
   * How often a round starts, counted from the start of the one before: the
   * spool is drained and, in stream mode, the segment being written shipped.
   * It adds to the RPO: default 5 s for the spool alone, 2 s in stream mode,
   * whose RPO target is 5 s including the round's own time.
   */
  drainEveryMs?: number;
  /** How often the server's archiving state is read (default 30 s). */
  serverCheckEveryMs?: number;
  /** Pause before a failed loop starts again (default 30 s). */
  restartAfterMs?: number;
}

const SPOOL_ROUND_MS = 5_000;
const STREAM_ROUND_MS = 2_000;

/** The postgres sources with `pitr:`. */
export function pitrSources(config: LifeboatConfig): PitrSource[] {
  return Object.entries(config.sources ?? {}).flatMap(([name, s]) =>
    s.type === 'postgres' && s.pitr ? [{ name, config: s }] : [],
  );
}

/** The repository that receives a source's WAL and base backups: the `to` of the one job backing it up, else the only repository. */
export function pitrRepository(config: LifeboatConfig, source: string): { name: string; settings: RepositoryConfig } {
  const repos = config.repositories ?? {};
  const targets = new Set(
    Object.values(config.jobs ?? {})
      .filter((j) => j.to && (j.sources === 'all' || j.sources?.includes(source)))
      .map((j) => j.to!),
  );
  const names = targets.size === 1 ? [...targets] : targets.size === 0 ? Object.keys(repos) : [];
  if (names.length === 1 && repos[names[0]!]) return { name: names[0]!, settings: repos[names[0]!]! };
  throw new LifeboatError(
    ErrorCode.Config,
    `which repository receives the WAL and base backups of source "${source}" is not clear`,
    {
      hint: `back the source up with exactly one job (its \`to\` is used), or configure one repository; configured: ${Object.keys(repos).join(', ') || 'none'}`,
    },
  );
}

const message = (err: unknown) => (err as Error).message;

/** Run the archiving loops of every source with `pitr:` until `signal` aborts. */
export function startWalArchiving(config: LifeboatConfig, o: WalArchivingOptions): Promise<void> {
  const loops = pitrSources(config).flatMap((source) => {
    const status: WalArchiverStatus = {
      source: source.name,
      running: true,
      pid: process.pid,
      updatedMs: Date.now(),
      drainedFiles: 0,
    };
    let writing = Promise.resolve();
    const report = () =>
      (writing = writing.then(() =>
        writeArchiverStatus(o.stateDir, { ...status, updatedMs: Date.now() }).catch((err: unknown) =>
          o.log(`WAL archiving of ${source.name}: status file not written: ${message(err)}`),
        ),
      ));
    const noteCatalog = (catalog: WalCatalog) => {
      let newest: { name: string; at: string } | undefined;
      for (const [name, f] of catalog.files)
        if (!newest || f.archivedAt > newest.at || (f.archivedAt === newest.at && name > newest.name))
          newest = { name, at: f.archivedAt };
      if (newest) {
        status.lastArchivedWal = newest.name;
        status.lastArchivedMs = Date.parse(newest.at);
      }
      const base = catalog.bases[catalog.bases.length - 1];
      if (base) {
        status.lastBaseBackupMs = Date.parse(base.stopTime);
        status.lastBaseBackupSnapshot = base.snapshot.id;
      }
    };
    const withRepository = async (what: string, body: (repo: Repository) => Promise<void>) => {
      while (!o.signal.aborted) {
        let repo: Repository | undefined;
        try {
          const target = pitrRepository(config, source.name);
          status.repository = target.name;
          repo = await openConfiguredRepository(target.name, target.settings, { cacheRoot: o.cacheRoot });
          await body(repo);
        } catch (err) {
          if (o.signal.aborted) break;
          const m = message(err);
          if (what === 'drain') status.drainError = m;
          else status.baseBackupError = m;
          await report();
          o.log(
            `WAL archiving of ${source.name}: ${what} failed: ${m}; starting again in ${(o.restartAfterMs ?? 30_000) / 1000}s`,
          );
          await pause(o.restartAfterMs ?? 30_000, o.signal);
        } finally {
          await repo?.close().catch(() => {});
        }
      }
    };

    const spoolDir = spoolDirFor(source.name, source.config.pitr!.spool_dir, o.stateDir);
    const streaming = source.config.pitr!.wal === 'stream';
    const streamDir = streamDirFor(source.name, o.stateDir);
    const shipped: ShippedFiles = new Map();
    if (streaming) status.stream = { restarts: 0 };
    const receiver = streaming
      ? runWalReceiver(source.name, source.config, o.stateDir, o.signal, {
          started: (pid) => {
            status.stream = { ...status.stream!, pid, startedMs: Date.now() };
            delete status.stream.error;
            delete status.stream.errorMs;
            void report();
          },
          failed: (reason) => {
            status.stream = {
              ...status.stream!,
              restarts: status.stream!.restarts + 1,
              error: reason,
              errorMs: Date.now(),
            };
            delete status.stream.pid;
            void report();
          },
          log: o.log,
        })
      : Promise.resolve();
    const drainLoop = withRepository('drain', async (repo) => {
      noteCatalog(await loadCatalog(repo, source.name));
      let lastServerCheck = 0;
      const everyMs = o.drainEveryMs ?? (streaming ? STREAM_ROUND_MS : SPOOL_ROUND_MS);
      while (!o.signal.aborted) {
        const roundStarted = Date.now();
        if ((await spooledFiles(spoolDir)).length) {
          for (;;) {
            const r = await drainSpool(repo, source.name, spoolDir, { binDir: source.config.bin_dir });
            status.drainedFiles += r.stored.length + r.alreadyArchived.length;
            if (r.left === 0) break;
          }
          noteCatalog(await loadCatalog(repo, source.name));
        }
        if (streaming) {
          const began = Date.now();
          const r = await shipStreamed(repo, source.name, streamDir, shipped, { binDir: source.config.bin_dir });
          status.drainedFiles += r.completed.length;
          if (r.partials.length) {
            status.stream!.lastPartial = r.partials[r.partials.length - 1];
            status.stream!.lastPartialMs = Date.now();
          }
          if (r.completed.length || r.partials.length) noteCatalog(await loadCatalog(repo, source.name));
          // Caught up only while pg_receivewal runs: otherwise the server holds WAL nobody is receiving.
          if (status.stream!.pid !== undefined) status.stream!.caughtUpMs = began;
        }
        status.lastDrainMs = Date.now();
        delete status.drainError;
        if (Date.now() - lastServerCheck >= (o.serverCheckEveryMs ?? 30_000)) {
          lastServerCheck = Date.now();
          try {
            status.server = { ...(await serverArchiveStatus(source.config)), checkedMs: lastServerCheck };
            delete status.serverError;
            delete status.serverErrorMs;
          } catch (err) {
            status.serverError = message(err);
            status.serverErrorMs = lastServerCheck;
          }
        }
        await report();
        await pause(Math.max(0, everyMs - (Date.now() - roundStarted)), o.signal);
      }
    });

    const interval = source.config.pitr!.base_backup;
    const baseLoop = interval
      ? withRepository('base backup', async (repo) => {
          const everyMs = parseDuration(interval) * 1000;
          while (!o.signal.aborted) {
            if (streaming && status.stream?.pid === undefined) {
              // A base backup needs its WAL from its start on: in stream mode only once pg_receivewal receives it.
              await pause(1_000, o.signal);
              continue;
            }
            const catalog = await loadCatalog(repo, source.name);
            noteCatalog(catalog);
            const newest = status.lastBaseBackupMs;
            const due = newest === undefined ? Date.now() : newest + everyMs;
            status.nextBaseBackupMs = due;
            if (due <= Date.now()) {
              o.log(`WAL archiving of ${source.name}: base backup due, taking it`);
              const { snapshot, record } = await takeBaseBackup(repo, source.name, source.config, {
                signal: o.signal,
                log: o.log,
                tags: ['scheduled'],
              });
              status.lastBaseBackupMs = Date.parse(record.stopTime);
              status.lastBaseBackupSnapshot = snapshot.id;
              status.nextBaseBackupMs = status.lastBaseBackupMs + everyMs;
              delete status.baseBackupError;
            }
            await report();
            // Wake at the next due time, but at least every minute to notice base backups taken by hand.
            await pause(Math.min(60_000, Math.max(1_000, status.nextBaseBackupMs - Date.now())), o.signal);
          }
        })
      : Promise.resolve();

    return [
      (async () => {
        await report();
        await Promise.all([drainLoop, baseLoop, receiver]);
        status.running = false;
        await report();
      })(),
    ];
  });
  return Promise.all(loops).then(() => {});
}
