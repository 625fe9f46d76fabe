/**
 * Durations in the config and on the command line: `30s 15m 36h 7d 12w 1y`
 * (docs/configuration.md), optionally combined (`1d12h`). A year counts 365 days, a month is
 * not offered because its length varies.
 *
 * @module
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
const DURATION = /^(\d+[smhdwy])+$/;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** Seconds in a duration string; throws a plain Error with the accepted forms when invalid. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed))
    throw new Error(`"${text}" is not a duration; use a number and a unit: 30s, 15m, 36h, 7d, 12w, 1y`);
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhdwy])/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds;
}

/** The shortest exact spelling of a number of seconds (`129600` → `1d12h`). */
export function formatDurationSpec(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const unit of ['y', 'w', 'd', 'h', 'm', 's']) {
    const size = UNIT_SECONDS[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
