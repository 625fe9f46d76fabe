import type { SourceRecord } from '../sources/contract.js';

/**
 * The newest `recent_data` timestamp measured on the restored copy, as a time.
 * PostgreSQL renders it as ISO 8601 in UTC; MySQL DATETIME values carry no
 * zone and are read as UTC (the server's default for TIMESTAMP columns read by
 * Lifeboat's sessions is its own zone — keep the column in UTC). Undefined
 * when the source has no recent_data or the value is not a time.
 */
export function newestDataTime(
  measured: SourceRecord | undefined,
): { column: string; newest: string | null; time?: Date } | undefined {
  const recent = measured?.recentData as { table?: string; column?: string; newest?: string | null } | undefined;
  if (!recent || typeof recent !== 'object') return undefined;
  const column = `${recent.table}.${recent.column}`;
  if (typeof recent.newest !== 'string') return { column, newest: null };
  const text = recent.newest.trim();
  const iso = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const ms = Date.parse(iso);
  return { column, newest: recent.newest, ...(Number.isFinite(ms) ? { time: new Date(ms) } : {}) };
}
