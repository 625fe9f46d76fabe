import { promises as fs } from 'node:fs';
import { parseDuration } from '../config/duration.js';
import type { LifeboatConfig } from '../config/schema.js';
import type { AlertSettings, SpaceView } from '../alerts/rules.js';

/** The free-space limits of the runbooks: warning below 20 %, critical below 10 %. */
export const DEFAULT_FREE_WARNING_PCT = 20;
export const DEFAULT_FREE_CRITICAL_PCT = 10;
/** A backup taking longer than an hour is slow. */
export const DEFAULT_MAX_BACKUP_DURATION = '1h';

/** The alert rules' settings from lifeboat.yaml `alerts:` (`min_free_pct` is the older name of `free_space_warning_pct`). */
export function alertSettingsOf(config: LifeboatConfig): AlertSettings {
  const a = config.alerts ?? {};
  return {
    overdueAfterMs: parseDuration(a.overdue_after ?? '36h') * 1000,
    sizeChangePct: a.size_change_pct ?? 50,
    freeWarningPct: a.free_space_warning_pct ?? a.min_free_pct ?? DEFAULT_FREE_WARNING_PCT,
    freeCriticalPct: a.free_space_critical_pct ?? DEFAULT_FREE_CRITICAL_PCT,
    maxBackupMs: parseDuration(a.max_backup_duration ?? DEFAULT_MAX_BACKUP_DURATION) * 1000,
  };
}

/** Free space of the filesystem holding the state directory (its history and alert state), by statfs. */
export async function stateDirSpace(dir: string): Promise<SpaceView> {
  try {
    const st = await fs.statfs(dir);
    return {
      repository: 'state_dir',
      path: dir,
      connected: true,
      availableBytes: st.bavail * st.bsize,
      totalBytes: st.blocks * st.bsize,
    };
  } catch {
    return { repository: 'state_dir', path: dir, connected: false };
  }
}
