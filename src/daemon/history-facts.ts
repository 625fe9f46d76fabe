import type { LifeboatConfig } from '../config/schema.js';
import { HOOK_STEPS } from '../alerts/rules.js';
import type { RunHistory, StepRecord } from '../state/history.js';

/**
 * The slices of the run history that status, metrics and alerts look at:
 * the last few backups of every source (newest first) and the recent checks,
 * verifications, drills, copies and hook phases.
 */
export function recentSteps(history: RunHistory, config: LifeboatConfig, perSource = 10): StepRecord[] {
  const out: StepRecord[] = [];
  for (const source of Object.keys(config.sources ?? {}))
    out.push(...history.steps({ source, step: 'backup' }, perSource * 4));
  for (const step of ['check', 'verify', 'drill', 'copy', ...HOOK_STEPS]) out.push(...history.steps({ step }, 200));
  return out;
}

/** Sources the scheduled jobs back up. */
export function scheduledSources(config: LifeboatConfig): string[] {
  const all = Object.keys(config.sources ?? {});
  const out = new Set<string>();
  for (const job of Object.values(config.jobs ?? {})) {
    if (!job.schedule || !job.to) continue;
    for (const s of job.sources === 'all' ? all : (job.sources ?? [])) out.add(s);
  }
  return [...out];
}

/** The newest step matching `pick`, by start time. */
export function newest(steps: StepRecord[], pick: (s: StepRecord) => boolean): StepRecord | undefined {
  let best: StepRecord | undefined;
  for (const s of steps) if (pick(s) && (!best || s.startedAt > best.startedAt)) best = s;
  return best;
}
