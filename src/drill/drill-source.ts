import type { Repository } from '../repository/repository.js';
import { runDrill, type DrillOptions, type DrillResult } from './drill.js';
import { drillPitr } from './pitr-drill.js';

/**
 * Every drill a source calls for, each with its stored report: a postgres
 * source with `pitr:` is drilled by a point-in-time restore into a throwaway
 * server, and its logical dumps too when the repository holds any; any other
 * source by a restore of a snapshot. `restoreCommand` gives the throwaway
 * server's restore_command (`lifeboat … wal-fetch`) when one is needed.
 */
export async function drillSource(
  repo: Repository,
  options: DrillOptions,
  restoreCommand: () => string,
): Promise<DrillResult[]> {
  const config = options.config;
  if (config?.type !== 'postgres' || !config.pitr) return [await runDrill(repo, options)];
  const out = [await drillPitr(repo, { ...options, config, restoreCommand: restoreCommand() })];
  const dumps = (await repo.listSnapshots()).snapshots.some((s) => s.source === options.source);
  if (dumps) out.push(await runDrill(repo, options));
  return out;
}
