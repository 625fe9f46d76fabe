import type { LifeboatConfig } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { readReplicationStatuses } from '../sources/sqlite/continuous/replication-status.js';
import { replicate } from '../sources/sqlite/continuous/replicate.js';
import { continuousSettings } from '../sources/sqlite/continuous/settings.js';
import { continuousSources, streamRepository } from '../sources/sqlite/continuous/stream-target.js';

/** How long `serve` waits before starting a replication again after it failed (repository unreachable, database not in WAL mode). */
const RESTART_AFTER_MS = 30_000;

/**
 * `serve` runs continuous protection for every sqlite source with
 * `continuous`, each in its own loop: started again after a failure, stopped
 * (shipping what is committed) when `signal` aborts.
 */
export function startReplications(
  config: LifeboatConfig,
  o: { stateDir: string; log: (line: string) => void; signal: AbortSignal; cacheRoot?: string },
): Promise<void> {
  const loops = continuousSources(config).map(async (source) => {
    while (!o.signal.aborted) {
      try {
        const target = streamRepository(config, source);
        const repo = await openConfiguredRepository(target.name, target.settings, { cacheRoot: o.cacheRoot });
        try {
          o.log(`replication of ${source.name}: streaming into ${target.name}`);
          const r = await replicate({
            source: source.name,
            path: source.config.path,
            repo,
            ...continuousSettings(source.config),
            stateDir: o.stateDir,
            repositoryName: target.name,
            log: o.log,
            signal: o.signal,
          });
          if (r.unshipped)
            o.log(`replication of ${source.name}: stopped with ${r.unshipped} committed transactions not shipped`);
        } finally {
          await repo.close();
        }
      } catch (err) {
        o.log(
          `replication of ${source.name} failed: ${(err as Error).message}; starting again in ${RESTART_AFTER_MS / 1000}s`,
        );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, RESTART_AFTER_MS);
          o.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  });
  return Promise.all(loops).then(() => {});
}

export interface ReplicationFact {
  source: string;
  lagSeconds: number;
  /** The lag past which the alert fires: the source's `rpo`, else ten intervals (at least a minute). */
  limitSeconds: number;
  lastShippedCommitMs?: number;
  running: boolean;
}

/** The lag of every continuous source as of `now`, from the replicators' status files; a source never replicated counts as lagging since `watchedSince`. */
export function replicationFacts(
  config: LifeboatConfig,
  stateDir: string,
  now: number,
  watchedSince: number,
): ReplicationFact[] {
  const statuses = new Map(readReplicationStatuses(stateDir, now).map((s) => [s.source, s]));
  return continuousSources(config).map((source) => {
    const s = statuses.get(source.name);
    const limitSeconds = source.config.rpo
      ? parseDuration(source.config.rpo)
      : Math.max(60, (10 * continuousSettings(source.config).intervalMs) / 1000);
    if (!s)
      return {
        source: source.name,
        lagSeconds: Math.max(0, (now - watchedSince) / 1000),
        limitSeconds,
        running: false,
      };
    return {
      source: source.name,
      lagSeconds: s.currentLagSeconds,
      limitSeconds,
      lastShippedCommitMs: s.lastShippedCommitMs,
      running: s.running,
    };
  });
}
