import type { SourceRemovers } from '../leftovers/removal.js';
import { sweepLeftovers, type SweepOptions, type SweepReport } from '../leftovers/sweep.js';
import { removeDatabase } from './leftover-database.js';
import { removeTsdbSnapshot } from './leftover-tsdb-snapshot.js';
import { releaseHeldContainer } from './docker/leftover-held-container.js';

/**
 * How the sources remove what a killed process left on their servers: the scratch and staging
 * databases of PostgreSQL and MySQL, the server-side snapshots of VictoriaMetrics and
 * Prometheus, and the containers a docker backup stopped or paused (started again). Handed to the leftovers sweep by the commands and jobs that run it.
 */
export const sourceRemovers: SourceRemovers = {
  database: removeDatabase,
  'tsdb-snapshot': removeTsdbSnapshot,
  'held-container': releaseHeldContainer,
};

/** The sweep's options with the sources' removers as the default. */
export type SweepWithSourcesOptions = Omit<SweepOptions, 'removers'> & { removers?: SourceRemovers };

/** The leftovers sweep with the sources' removers unless others are given (the library's `sweepLeftovers`). */
export function sweepWithSourceRemovers(options: SweepWithSourcesOptions): Promise<SweepReport> {
  return sweepLeftovers({ ...options, removers: options.removers ?? sourceRemovers });
}
