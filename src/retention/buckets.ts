/**
 * Calendar buckets for the hourly/daily/weekly/monthly/yearly rules, in the
 * machine's local time zone (what "daily" means to the people reading the
 * plan). Weeks are ISO weeks (Monday to Sunday, numbered by their Thursday's year).
 *
 * @module
 */

export type BucketRule = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function bucketOf(rule: BucketRule, time: Date): string {
  const y = time.getFullYear();
  const m = pad(time.getMonth() + 1);
  const d = pad(time.getDate());
  switch (rule) {
    case 'hourly':
      return `${y}-${m}-${d} ${pad(time.getHours())}h`;
    case 'daily':
      return `${y}-${m}-${d}`;
    case 'weekly':
      return isoWeek(time);
    case 'monthly':
      return `${y}-${m}`;
    case 'yearly':
      return `${y}`;
  }
}

function isoWeek(time: Date): string {
  const day = new Date(time.getFullYear(), time.getMonth(), time.getDate());
  const weekday = (day.getDay() + 6) % 7; // Monday = 0
  day.setDate(day.getDate() - weekday + 3); // the Thursday of this week
  const firstThursday = new Date(day.getFullYear(), 0, 4);
  const week =
    1 +
    Math.round(((day.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getDay() + 6) % 7)) / 7);
  return `${day.getFullYear()}-W${pad(week)}`;
}
