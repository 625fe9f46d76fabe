import { complianceReport, type ComplianceReport } from '../compliance/report.js';
import type { LoadedConfig } from '../config/load.js';
import { nextSlot, schedulesOf } from '../daemon/schedule.js';
import { buildStatus, type StatusDocument } from '../daemon/status.js';
import { readStorageState } from '../daemon/storage-view.js';
import { AlertStore } from '../state/alerts-store.js';
import { RunHistory } from '../state/history.js';
import { stateDir } from '../state/state-dir.js';

export type { ComplianceReport };

/** `lifeboat compliance`: the 3-2-1-1-0 and policy checks of every source; `ok` is false when any check fails. */
export async function compliance(
  loaded: LoadedConfig,
  options: { cacheRoot?: string; now?: Date } = {},
): Promise<ComplianceReport> {
  return complianceReport(loaded, options);
}

/** `lifeboat status`: the status document of the daemon's API, read from the local state of `loaded`'s state directory. */
export async function status(loaded: LoadedConfig, options: { now?: number } = {}): Promise<StatusDocument> {
  const dir = stateDir(loaded.config.state_dir);
  const history = RunHistory.open(dir);
  const alerts = AlertStore.open(dir);
  try {
    const now = options.now ?? Date.now();
    const nextRuns = new Map<string, number>();
    for (const s of schedulesOf(loaded.config)) {
      const at = nextSlot(s, now);
      if (at !== undefined) nextRuns.set(s.job, at);
    }
    return buildStatus({
      config: loaded.config,
      history,
      storage: await readStorageState(loaded.config),
      nextRuns,
      alerts: alerts.active(),
      now,
    });
  } finally {
    alerts.close();
    history.close();
  }
}
