/**
 * Stream retention as `lifeboat forget` shows and applies it: each stream
 * of a source with `continuous` keeps every point of its `retention` window
 * (the newest full copy at or before the window's start and everything
 * after it); older objects are removed unless it is a dry run. Orphan
 * streams (no configured source with `continuous`) have no window: they are
 * kept whole and listed, until removed on purpose with
 * `lifeboat replicate --forget-orphan`.
 * @module
 */

import type { LifeboatConfig } from '../../../config/schema.js';
import type { Repository } from '../../../repository/repository.js';
import { continuousSettings } from './settings.js';
import { storedStreams } from './stream-inventory.js';
import { planStreamRetention } from './stream-retention.js';

export interface StreamForgetDecision {
  stream: string;
  source?: string;
  /** 'window': retention applied; 'orphan': kept whole. */
  rule: 'window' | 'orphan';
  retentionMs?: number;
  remove: number;
  keep: number;
  /** The oldest restorable point after the removal (ms). */
  oldestPointMs?: number;
}

export async function forgetStreams(
  repo: Repository,
  config: LifeboatConfig | undefined,
  options: { dryRun?: boolean; source?: string; now?: () => number } = {},
): Promise<StreamForgetDecision[]> {
  repo.requireAdmin('forget');
  const now = (options.now ?? Date.now)();
  const out: StreamForgetDecision[] = [];
  for (const s of await storedStreams(repo, config)) {
    if (options.source !== undefined && s.source !== options.source) continue;
    const source = s.source ? config?.sources?.[s.source] : undefined;
    if (!s.configured || source?.type !== 'sqlite' || !source.continuous) {
      out.push({
        stream: s.stream,
        source: s.source,
        rule: 'orphan',
        remove: 0,
        keep: s.objects,
        oldestPointMs: s.oldestPointMs,
      });
      continue;
    }
    const retentionMs = continuousSettings(source).retentionMs;
    const plan = await planStreamRetention(repo, s.stream, now - retentionMs);
    if (!options.dryRun) for (const name of plan.doomed) await repo.storage.remove(name);
    out.push({
      stream: s.stream,
      source: s.source,
      rule: 'window',
      retentionMs,
      remove: plan.doomed.length,
      keep: plan.kept,
      oldestPointMs: plan.anchorMs ?? s.oldestPointMs,
    });
  }
  return out;
}
