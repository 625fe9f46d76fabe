/**
 * The daemon's timer loop. Each scheduled job has one due time; when it comes
 * the job is triggered and the next slot is computed from the current time,
 * so any number of slots missed (daemon down, machine suspended, clock jumped
 * forward) collapse into one run. A job still running when it is due is not
 * started twice: the due run is skipped and reported (ADR 0014).
 *
 * @module
 */

import type { Clock } from './clock.js';
import { missedSlot, nextSlot, type JobSchedule } from './schedule.js';

export type Trigger = 'schedule' | 'catch-up';

export type SchedulerEvent =
  | { type: 'catch-up'; job: string; missed: string }
  | { type: 'due'; job: string; trigger: Trigger; at: string }
  | { type: 'overlap'; job: string; at: string; detail: string }
  | { type: 'clock-jump'; direction: 'forward' | 'back'; by_seconds: number };

export interface SchedulerDeps {
  clock: Clock;
  schedules: JobSchedule[];
  /** When the job last started (any run: scheduled, API, `lifeboat run`), from the run history. */
  lastStart: (job: string) => number | undefined;
  /** Start the job; `{ started: false }` when it is already running (then `detail` says by whom). */
  trigger: (job: string, why: Trigger) => { started: boolean; detail?: string };
  report?: (event: SchedulerEvent) => void;
  /** Longest single sleep, so a jump of the wall clock is noticed within it. */
  maxSleepMs?: number;
}

const DAY_MS = 86_400_000;
/** A wake this much later than planned means the machine slept or the clock was set forward. */
const LATE_WAKE_MS = 5 * 60_000;

export class Scheduler {
  private readonly due = new Map<string, { at: number; why: Trigger }>();

  constructor(private readonly deps: SchedulerDeps) {}

  /** When each job runs next (jitter included), for the API and the status document. */
  nextRuns(): Map<string, number> {
    return new Map([...this.due].map(([job, d]) => [job, d.at]));
  }

  /** Run until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    const maxSleep = this.deps.maxSleepMs ?? 60_000;
    const start = clock.now();
    for (const s of this.deps.schedules) {
      const missed = missedSlot(s, this.deps.lastStart(s.job), start);
      if (missed !== undefined) {
        this.report({ type: 'catch-up', job: s.job, missed: new Date(missed).toISOString() });
        this.due.set(s.job, { at: start + this.jitter(s), why: 'catch-up' });
      } else {
        this.plan(s, start);
      }
    }
    let lastNow = start;
    let plannedWake = start;
    while (!signal.aborted) {
      const now = clock.now();
      if (now < lastNow - 1000) {
        this.report({ type: 'clock-jump', direction: 'back', by_seconds: Math.round((lastNow - now) / 1000) });
        for (const s of this.deps.schedules) this.plan(s, this.floorAfterBackwardJump(s.job, now));
      } else if (now > plannedWake + LATE_WAKE_MS) {
        this.report({ type: 'clock-jump', direction: 'forward', by_seconds: Math.round((now - plannedWake) / 1000) });
      }
      lastNow = now;
      for (const s of this.deps.schedules) {
        const d = this.due.get(s.job);
        if (!d || d.at > now) continue;
        this.report({ type: 'due', job: s.job, trigger: d.why, at: new Date(now).toISOString() });
        const result = this.deps.trigger(s.job, d.why);
        if (!result.started)
          this.report({
            type: 'overlap',
            job: s.job,
            at: new Date(now).toISOString(),
            detail: result.detail ?? 'still running',
          });
        this.plan(s, now);
      }
      const soonest = Math.min(...[...this.due.values()].map((d) => d.at));
      const wait = Math.max(0, Math.min(maxSleep, soonest - now));
      plannedWake = now + wait;
      await clock.sleep(wait, signal);
    }
  }

  private plan(s: JobSchedule, afterMs: number): void {
    const slot = nextSlot(s, afterMs);
    if (slot === undefined) this.due.delete(s.job);
    else this.due.set(s.job, { at: slot + this.jitter(s), why: 'schedule' });
  }

  /**
   * After the clock went back, slots up to the job's last start are not run a
   * second time — unless that start lies more than a day ahead, when it is
   * taken for the mistake of a clock that had been wrong.
   */
  private floorAfterBackwardJump(job: string, now: number): number {
    const last = this.deps.lastStart(job);
    return last !== undefined && last > now && last - now <= DAY_MS ? last : now;
  }

  private jitter(s: JobSchedule): number {
    return s.jitterMs > 0 ? Math.floor(this.deps.clock.random() * s.jitterMs) : 0;
  }

  private report(event: SchedulerEvent): void {
    this.deps.report?.(event);
  }
}
