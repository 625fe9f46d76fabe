/** Human-readable numbers, times, modes and tables for text output (terminal and printed reports). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/**
 * A span of time as people write it: the two largest units, the second left
 * out when it is zero — `0s`, `59s`, `1m`, `59m 59s`, `2h`, `3h 12m`, `1d 2h`.
 * Fractions of a second are rounded; a negative span is shown by its size.
 */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  const total = Math.round(Math.abs(seconds));
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const first = units.findIndex(([, size]) => total >= size);
  if (first === -1) return '0s';
  const [bigName, bigSize] = units[first]!;
  const big = Math.floor(total / bigSize);
  const next = units[first + 1];
  const small = next ? Math.floor((total % bigSize) / next[1]) : 0;
  return small && next ? `${big}${bigName} ${small}${next[0]}` : `${big}${bigName}`;
}

/** How long ago something happened (`seconds` old): `3h 12m ago`, `just now` under a second, `in 5m` for a future time. */
export function formatAgo(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'at an unknown time';
  if (Math.abs(seconds) < 1) return 'just now';
  return seconds > 0 ? `${formatSeconds(seconds)} ago` : `in ${formatSeconds(seconds)}`;
}

/** A measured duration in milliseconds: `350 ms`, `12.3s` under a minute (a tenth is worth showing there), then as `formatSeconds`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  return formatSeconds(ms / 1000);
}

export function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A plain text table with left-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatMode(type: string, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : type === 'hardlink' ? 'h' : '-';
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return t + s;
}
