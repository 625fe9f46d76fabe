/**
 * A clock tests move by hand. Like the real one, sleeping runs on a monotonic
 * timeline while `now()` is the wall clock: `advance` moves both, waking each
 * sleeper at its deadline and letting the woken code run before moving on;
 * `jump` moves only the wall clock (an NTP correction, or — followed by a short
 * advance — a machine that was suspended), so a sleeper notices at its next wake.
 *
 * @module
 */

import type { Clock } from '../clock.js';

export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  private seed = 1;

  constructor(start: string | number) {
    this.wall = typeof start === 'number' ? start : Date.parse(start);
  }

  now(): number {
    return this.wall;
  }

  /** Deterministic (Lehmer) so jittered tests are repeatable. */
  random(): number {
    this.seed = (this.seed * 48271) % 2147483647;
    return this.seed / 2147483647;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const entry = { at: this.mono + Math.max(0, ms), resolve };
      this.sleepers.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Move forward by `ms`, waking sleepers in deadline order. */
  async advance(ms: number): Promise<void> {
    const end = this.mono + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.move(Math.max(0, next.at - this.mono));
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
      await settle();
    }
    this.move(end - this.mono);
    await settle();
  }

  /** Set the wall clock (forward or back) without waking anyone. */
  async jump(to: string | number): Promise<void> {
    this.wall = typeof to === 'number' ? to : Date.parse(to);
    await settle();
  }

  private move(ms: number): void {
    this.mono += ms;
    this.wall += ms;
  }
}

/** Let queued promise callbacks and immediate work run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
