import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerEvent, type Trigger } from './scheduler.js';
import type { JobSchedule } from './schedule.js';
import { ManualClock } from './testing/manual-clock.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A scheduler on a manual clock whose triggers are recorded; `busy` jobs refuse to start (a run still going). */
function harness(start: string, schedules: JobSchedule[], lastStarts: Record<string, string> = {}) {
  const clock = new ManualClock(start);
  const starts = new Map<string, number>(Object.entries(lastStarts).map(([k, v]) => [k, Date.parse(v)]));
  const runs: Array<{ job: string; at: string; why: Trigger }> = [];
  const events: SchedulerEvent[] = [];
  const busy = new Set<string>();
  const scheduler = new Scheduler({
    clock,
    schedules,
    lastStart: (job) => starts.get(job),
    trigger: (job, why) => {
      if (busy.has(job)) return { started: false, detail: 'run 1 still going' };
      starts.set(job, clock.now());
      runs.push({ job, at: new Date(clock.now()).toISOString(), why });
      return { started: true };
    },
    report: (e) => events.push(e),
  });
  const stop = new AbortController();
  const loop = scheduler.run(stop.signal);
  return {
    clock,
    runs,
    events,
    busy,
    scheduler,
    stop: async () => {
      stop.abort();
      await loop;
    },
  };
}

const daily = (job: string, expression = '0 3 * * *', timezone?: string, jitterMs = 0): JobSchedule => ({
  job,
  expression,
  timezone,
  jitterMs,
});

describe('scheduler', () => {
  it('runs a daily job at its time each day', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly'), daily('hourly', '15 * * * *')]);
    await h.clock.advance(3 * DAY);
    await h.stop();
    expect(h.runs.filter((r) => r.job === 'nightly').map((r) => r.at)).toEqual([
      '2026-01-11T03:00:00.000Z',
      '2026-01-12T03:00:00.000Z',
      '2026-01-13T03:00:00.000Z',
    ]);
    expect(h.runs.filter((r) => r.job === 'hourly')).toHaveLength(72);
    expect(h.runs.every((r) => r.why === 'schedule')).toBe(true);
  });

  it('catches up a missed run once at start-up, however many slots were missed', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly')], { nightly: '2026-01-05T03:00:00Z' });
    await h.clock.advance(1000);
    expect(h.runs).toEqual([{ job: 'nightly', at: '2026-01-10T12:00:00.000Z', why: 'catch-up' }]);
    expect(h.events[0]).toEqual({ type: 'catch-up', job: 'nightly', missed: '2026-01-06T03:00:00.000Z' });
    await h.clock.advance(DAY);
    await h.stop();
    expect(h.runs.map((r) => r.at)).toEqual(['2026-01-10T12:00:00.000Z', '2026-01-11T03:00:00.000Z']);
  });

  it('does not catch up a job that never ran, or that ran after its last slot', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('never'), daily('recent')], { recent: '2026-01-10T03:00:05Z' });
    await h.clock.advance(HOUR);
    await h.stop();
    expect(h.runs).toEqual([]);
    expect(h.scheduler.nextRuns()).toEqual(
      new Map([
        ['never', Date.parse('2026-01-11T03:00:00Z')],
        ['recent', Date.parse('2026-01-11T03:00:00Z')],
      ]),
    );
  });

  it('skips and reports a due run while the previous one is still going', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly')]);
    await h.clock.advance(DAY); // runs 01-11 03:00
    h.busy.add('nightly');
    await h.clock.advance(DAY); // 01-12 03:00 is due while it still runs
    h.busy.delete('nightly');
    await h.clock.advance(DAY);
    await h.stop();
    expect(h.runs.map((r) => r.at)).toEqual(['2026-01-11T03:00:00.000Z', '2026-01-13T03:00:00.000Z']);
    expect(h.events).toContainEqual({
      type: 'overlap',
      job: 'nightly',
      at: '2026-01-12T03:00:00.000Z',
      detail: 'run 1 still going',
    });
  });

  it('runs a local-time job once a day across both DST transitions', async () => {
    // Europe/Berlin: 2026-03-29 02:00 → 03:00 (02:30 does not exist), 2026-10-25 03:00 → 02:00 (02:30 happens twice).
    const spring = harness('2026-03-27T12:00:00Z', [daily('db', '30 2 * * *', 'Europe/Berlin')]);
    await spring.clock.advance(4 * DAY);
    await spring.stop();
    expect(spring.runs.map((r) => r.at)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // the skipped 02:30 runs at 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
    const fall = harness('2026-10-23T12:00:00Z', [daily('db', '30 2 * * *', 'Europe/Berlin')]);
    await fall.clock.advance(4 * DAY);
    await fall.stop();
    expect(fall.runs.map((r) => r.at)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // the repeated 02:30: once, in CET
      '2026-10-26T01:30:00.000Z',
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('honours the job time zone', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('ny', '0 3 * * *', 'America/New_York')]);
    await h.clock.advance(DAY);
    await h.stop();
    expect(h.runs.map((r) => r.at)).toEqual(['2026-01-11T08:00:00.000Z']);
  });

  it('runs once after the clock jumps forward past several slots (a suspended machine)', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly')]);
    await h.clock.advance(DAY); // 01-11 03:00
    await h.clock.jump('2026-01-15T09:00:00Z'); // asleep for four days
    await h.clock.advance(2 * 60_000);
    expect(h.runs.map((r) => r.at)).toEqual(['2026-01-11T03:00:00.000Z', '2026-01-15T09:01:00.000Z']);
    expect(h.events.some((e) => e.type === 'clock-jump' && e.direction === 'forward')).toBe(true);
    await h.clock.advance(DAY);
    await h.stop();
    expect(h.runs.map((r) => r.at).slice(2)).toEqual(['2026-01-16T03:00:00.000Z']);
  });

  it('does not repeat a slot when the clock goes back over it, and keeps the schedule afterwards', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly')]);
    await h.clock.advance(16 * HOUR); // 01-11 03:00 runs; now 04:00
    await h.clock.jump('2026-01-11T02:00:00Z'); // NTP sets the clock back two hours
    await h.clock.advance(DAY + 2 * HOUR);
    await h.stop();
    expect(h.runs.map((r) => r.at)).toEqual(['2026-01-11T03:00:00.000Z', '2026-01-12T03:00:00.000Z']);
    const jump = h.events.find((e) => e.type === 'clock-jump');
    expect(jump).toMatchObject({ direction: 'back' });
    expect((jump as { by_seconds: number }).by_seconds).toBeGreaterThan(7000); // two hours, less the minute slept
  });

  it('follows the new time when the clock was far in the future and is set back', async () => {
    const h = harness('2030-06-01T12:00:00Z', [daily('nightly')]);
    await h.clock.advance(DAY); // ran "2030-06-02 03:00" on a wrong clock
    await h.clock.jump('2026-01-10T12:00:00Z');
    await h.clock.advance(DAY);
    await h.stop();
    expect(h.runs.map((r) => r.at)).toEqual(['2030-06-02T03:00:00.000Z', '2026-01-11T03:00:00.000Z']);
  });

  it('delays each run by a random jitter below the configured bound', async () => {
    const h = harness('2026-01-10T12:00:00Z', [daily('nightly', '0 3 * * *', undefined, 30 * 60_000)]);
    await h.clock.advance(5 * DAY);
    await h.stop();
    expect(h.runs).toHaveLength(5);
    const offsets = h.runs.map((r) => Date.parse(r.at) - Date.parse(`${r.at.slice(0, 10)}T03:00:00Z`));
    expect(offsets.every((o) => o >= 0 && o < 30 * 60_000)).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(1);
  });
});
