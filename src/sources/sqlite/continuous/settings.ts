import { parseDuration } from '../../../config/duration.js';
import type { SourceConfigOf } from '../../../config/source-schemas.js';

export interface ContinuousSettings {
  intervalMs: number;
  snapshotEveryMs: number;
  retentionMs: number;
}

/** The `continuous` keys of a sqlite source with their defaults (docs/sources/sqlite.md). */
export function continuousSettings(config: SourceConfigOf<'sqlite'>): ContinuousSettings {
  const c = config.continuous ?? {};
  return {
    intervalMs: parseDuration(c.interval ?? '1s') * 1000,
    snapshotEveryMs: parseDuration(c.snapshot_every ?? '6h') * 1000,
    retentionMs: parseDuration(c.retention ?? '24h') * 1000,
  };
}
