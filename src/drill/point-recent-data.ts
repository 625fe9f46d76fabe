/**
 * The `recent_data` check of a point-in-time restored SQLite file: the newest
 * value of the configured column read from the copy, judged against the point
 * it was restored to.
 *
 * @module
 */

import Database from 'better-sqlite3';
import { formatSeconds } from '../util/format.js';
import { newestDataTime } from './recent-data.js';
import type { DrillCheckShape } from './report-shape.js';

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A restored point holds nothing written after it, so the newest value must be
 * at or before the commit it holds. No lower bound is judged: a transaction
 * need not write that table, so how old its newest row may be is the
 * application's business; the gap (the data a restore to this point would
 * miss if rows were written continuously) is reported, not judged.
 */
export function pointRecentDataCheck(
  file: string,
  recent: { table: string; column: string },
  committedMs: number,
): DrillCheckShape {
  const column = `${recent.table}.${recent.column}`;
  const expected = expectedAtPoint(column, committedMs, 'the restored commit');
  let newest: unknown;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare(`SELECT max(${quote(recent.column)}) AS newest FROM ${quote(recent.table)}`).get() as {
        newest: unknown;
      };
      newest = row.newest;
    } finally {
      db.close();
    }
  } catch (err) {
    return {
      name: 'recent data',
      ok: false,
      expected,
      actual: null,
      detail: `could not read ${column}: ${(err as Error).message}`,
    };
  }
  return judgeRecentAtPoint(recent, newest, committedMs, 'the restored commit');
}

function expectedAtPoint(column: string, pointMs: number, point: string): string {
  return `newest ${column} at or before ${point} ${new Date(pointMs).toISOString()}`;
}

/**
 * Judge the newest `recent_data` value read from a copy restored to a point
 * (`point` names it in the words of the report: "the restored commit", "the
 * recovery target"): it must be a time at or before the point.
 */
export function judgeRecentAtPoint(
  recent: { table: string; column: string },
  newest: unknown,
  pointMs: number,
  point: string,
): DrillCheckShape {
  const column = `${recent.table}.${recent.column}`;
  const expected = expectedAtPoint(column, pointMs, point);
  const text = typeof newest === 'number' ? new Date(newest < 1e11 ? newest * 1000 : newest).toISOString() : newest;
  const measured = newestDataTime({ recentData: { ...recent, newest: typeof text === 'string' ? text : null } });
  if (newest === null || newest === undefined)
    return { name: 'recent data', ok: false, expected, actual: null, detail: 'the table is empty at this point' };
  if (!measured?.time) return { name: 'recent data', ok: false, expected, actual: newest, detail: 'not a timestamp' };
  const lagSeconds = (pointMs - measured.time.getTime()) / 1000;
  if (lagSeconds < 0)
    return {
      name: 'recent data',
      ok: false,
      expected,
      actual: newest,
      detail: `${formatSeconds(-lagSeconds)} after ${point}: the copy holds data written after the point it was restored to (or the application's clock is ahead)`,
    };
  return {
    name: 'recent data',
    ok: true,
    expected,
    actual: newest,
    detail: `${formatSeconds(lagSeconds)} before ${point} (the data this point lacks if rows were written all along)`,
  };
}
