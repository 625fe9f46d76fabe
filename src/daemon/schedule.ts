/**
 * Next-run math for configured jobs (pure; croner does the calendar work,
 * including time zones and DST: a wall-clock time skipped by spring-forward
 * runs an hour later, one repeated by fall-back runs once).
 *
 * @module
 */

import { Cron } from 'croner';
import { parseDuration } from '../config/duration.js';
import type { LifeboatConfig } from '../config/schema.js';

export interface JobSchedule {
  job: string;
  expression: string;
  timezone?: string;
  /** Upper bound of the random delay added to each scheduled run. */
  jitterMs: number;
}

export function schedulesOf(config: LifeboatConfig): JobSchedule[] {
  return Object.entries(config.jobs ?? {})
    .filter(([, j]) => j.schedule)
    .map(([job, j]) => ({
      job,
      expression: j.schedule!,
      timezone: j.timezone,
      jitterMs: j.jitter ? parseDuration(j.jitter) * 1000 : 0,
    }));
}

/** The first slot strictly after `afterMs`, or undefined when the schedule never fires again. */
export function nextSlot(s: Pick<JobSchedule, 'expression' | 'timezone'>, afterMs: number): number | undefined {
  const cron = new Cron(s.expression, { paused: true, ...(s.timezone ? { timezone: s.timezone } : {}) });
  try {
    return cron.nextRun(new Date(afterMs))?.getTime();
  } finally {
    cron.stop();
  }
}

/**
 * The first slot that was due after the job last started and is not later
 * than `nowMs` — a run missed while the daemon or the machine was down. One
 * missed slot or fifty, the job catches up with a single run.
 */
export function missedSlot(
  s: Pick<JobSchedule, 'expression' | 'timezone'>,
  lastStartMs: number | undefined,
  nowMs: number,
): number | undefined {
  if (lastStartMs === undefined) return undefined; // never ran: nothing to catch up (as systemd's Persistent=true)
  const slot = nextSlot(s, lastStartMs);
  return slot !== undefined && slot <= nowMs ? slot : undefined;
}
