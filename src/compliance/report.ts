import type { LoadedConfig } from '../config/load.js';
import { collectRepositories, lastDrillsFromHistory, verificationsFromHistory } from './collect.js';
import { evaluateCompliance, type ComplianceCheck } from './evaluate.js';

/** The report of `lifeboat compliance --json`, without the `type` field. */
export interface ComplianceReport {
  time: string;
  ok: boolean;
  repositories: Array<{
    name: string;
    reachable: boolean;
    snapshots: number;
    /** The role of this host's token on a repository server (`append` counts as immutable). */
    accessRole?: string;
    error?: string;
  }>;
  checks: ComplianceCheck[];
}

/** `lifeboat compliance`: the 3-2-1-1-0 and policy checks of every source; `ok` is false when any check fails. */
export async function complianceReport(
  loaded: LoadedConfig,
  options: { cacheRoot?: string; now?: Date } = {},
): Promise<ComplianceReport> {
  const now = options.now ?? new Date();
  const repositories = await collectRepositories(loaded, options.cacheRoot);
  const checks = evaluateCompliance(
    loaded.config,
    repositories,
    lastDrillsFromHistory(loaded),
    now,
    verificationsFromHistory(loaded),
  );
  return {
    time: now.toISOString(),
    ok: checks.every((c) => c.status === 'pass'),
    repositories: repositories.map((r) => ({
      name: r.name,
      reachable: r.reachable,
      snapshots: r.snapshots.length,
      ...(r.accessRole ? { accessRole: r.accessRole } : {}),
      ...(r.error ? { error: r.error } : {}),
    })),
    checks,
  };
}
