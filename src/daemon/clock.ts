/**
 * Time as the daemon sees it. Everything that waits or asks the time goes
 * through a Clock, so tests drive days of schedule in milliseconds
 * (`testing/manual-clock.ts`) and can make the clock jump.
 *
 * @module
 */

import { pause } from '../util/pause.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolve after `ms` (or at once when the signal aborts; never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1) for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: pause,
};
