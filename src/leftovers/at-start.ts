import type { LifeboatConfig } from '../config/schema.js';
import { ledgerDirFor } from './ledger.js';
import type { SourceRemovers } from './removal.js';
import { sweepLeftovers, type SweptResource } from './sweep.js';

/** The ledgers a config's processes may have written: its state_dir's, and the cache root's (used without one). */
export function ledgerDirs(config?: Pick<LifeboatConfig, 'state_dir'>): string[] {
  return [...new Set([ledgerDirFor(config?.state_dir), ledgerDirFor()])];
}

/** The warning for a resource the sweep could not remove: what, why, and the commands that remove it by hand. */
export function keptWarning(k: SweptResource): string {
  const record = k.record ? `; then remove its record: rm ${k.record}` : '';
  return `a process that was killed (pid ${k.owner.pid}) left ${k.what}, which could not be removed: ${k.why}\n  remove it by hand: ${k.hint}${record}`;
}

/**
 * At the start of a command that makes external resources (verify, drill,
 * a source backup, a job): sweep what killed processes left. Cheap when
 * there is nothing (a readdir of each ledger and of the temp directory);
 * never fails the command.
 */
export async function sweepAtStart(
  config: Pick<LifeboatConfig, 'state_dir' | 'sources'> | undefined,
  removers: SourceRemovers,
  out: { warn(line: string): void; verbose(line: string): void },
): Promise<void> {
  try {
    const report = await sweepLeftovers({
      ledgers: ledgerDirs(config),
      sources: config?.sources,
      removers,
      log: (l) => out.verbose(l),
    });
    for (const r of report.removed)
      out.verbose(`removed ${r.what}, left by process ${r.owner.pid} (no longer running)`);
    for (const k of report.kept) out.warn(keptWarning(k));
  } catch (err) {
    out.warn(`could not look for what killed processes left behind: ${(err as Error).message}`);
  }
}
