/** Human-readable sizes, durations, times and ages. */
import { formatAgo, formatDuration } from '../../src/util/format.js';

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A duration as the CLI, alerts and reports write it (`12.3s`, `3h 12m`, `1d 2h`): the one formatter in src/util/format.ts. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return formatDuration(seconds * 1000);
}

/** A compact duration for chart axes: 45 s, 12 min, 22.5 h, 3.2 d. */
export function shortDuration(seconds: number): string {
  if (seconds < 10) return `${Number(seconds.toFixed(2))} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  return formatAgo((now - Date.parse(iso)) / 1000);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** green / amber / red for data age against the RPO: amber from 75 % of it. */
export function rpoLevel(age: number | null, rpo: number): 'ok' | 'warn' | 'bad' {
  if (age === null) return 'bad';
  if (age > rpo) return 'bad';
  return age > rpo * 0.75 ? 'warn' : 'ok';
}
