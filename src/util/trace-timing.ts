/**
 * Phase timestamps of one command, for measuring its fixed costs: with
 * `LIFEBOAT_TRACE_TIMING=1`, each `tracePhase(name)` prints one line to
 * stderr — milliseconds since the process started, resident memory, its high
 * water mark so far, and the phase name. Names are fixed strings chosen by the
 * code, never data (no paths, passwords or keys). Off, it costs one check.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

/** Whether phases are traced (read once: the environment of this process). */
export const traceTiming = process.env.LIFEBOAT_TRACE_TIMING === '1';

/** The line printed for a phase: `lifeboat-trace <ms> ms rss <MB> MB peak <MB> MB <name>`. */
export function traceLine(name: string, ms: number, rss: number, peak: number | undefined): string {
  const mb = (b: number): string => (b / 1048576).toFixed(0);
  return `lifeboat-trace ${ms.toFixed(0)} ms rss ${mb(rss)} MB peak ${peak === undefined ? '?' : mb(peak)} MB ${name}\n`;
}

/** The process's peak resident set so far (VmHWM), where the system tells it. */
function peakRss(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Print the time and memory at the end of phase `name`, when tracing is on. */
export function tracePhase(name: string): void {
  if (!traceTiming) return;
  // performance.now() counts from the process's start (timeOrigin), before any module loaded.
  process.stderr.write(traceLine(name, performance.now(), process.memoryUsage.rss(), peakRss()));
}
