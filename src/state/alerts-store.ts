/**
 * Alert state in `<state_dir>/state.db` beside the run history: one row per
 * alert from firing to resolution, so a restarted daemon neither fires an
 * alert again nor forgets to send its "recovered" message. At most one open
 * row per key.
 *
 * @module
 */

import type Database from 'better-sqlite3';
import { openStateDb } from './state-db.js';

export interface AlertRecord {
  id: number;
  key: string;
  rule: string;
  severity: string;
  subject: { source?: string; repository?: string; job?: string };
  message: string;
  firedAt: string;
  lastSentAt?: string;
  sentCount: number;
  resolvedAt?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
  subject TEXT NOT NULL, message TEXT NOT NULL, fired_at TEXT NOT NULL, last_sent_at TEXT,
  sent_count INTEGER NOT NULL DEFAULT 0, resolved_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_key ON alerts (key) WHERE resolved_at IS NULL;
CREATE TABLE IF NOT EXISTS alert_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type Row = Record<string, string | number | null>;

export class AlertStore {
  private constructor(private readonly db: Database.Database) {}

  static open(stateDir: string): AlertStore {
    return new AlertStore(openStateDb(stateDir, SCHEMA));
  }

  active(): AlertRecord[] {
    return (this.db.prepare('SELECT * FROM alerts WHERE resolved_at IS NULL ORDER BY fired_at, id').all() as Row[]).map(
      toRecord,
    );
  }

  /** Open and recently resolved alerts, newest first. */
  recent(limit = 100): AlertRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM alerts ORDER BY COALESCE(resolved_at, fired_at) DESC, id DESC LIMIT ?')
        .all(limit) as Row[]
    ).map(toRecord);
  }

  fire(a: Pick<AlertRecord, 'key' | 'rule' | 'severity' | 'subject' | 'message'>, at: string): AlertRecord {
    const info = this.db
      .prepare('INSERT INTO alerts (key, rule, severity, subject, message, fired_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(a.key, a.rule, a.severity, JSON.stringify(a.subject), a.message, at);
    return toRecord(this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  updateMessage(id: number, message: string): void {
    this.db.prepare('UPDATE alerts SET message = ? WHERE id = ?').run(message, id);
  }

  markSent(id: number, at: string): void {
    this.db.prepare('UPDATE alerts SET last_sent_at = ?, sent_count = sent_count + 1 WHERE id = ?').run(at, id);
  }

  resolve(id: number, at: string): void {
    this.db.prepare('UPDATE alerts SET resolved_at = ? WHERE id = ?').run(at, id);
  }

  meta(name: string): string | undefined {
    return (this.db.prepare('SELECT value FROM alert_meta WHERE name = ?').get(name) as { value: string } | undefined)
      ?.value;
  }

  setMeta(name: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO alert_meta (name, value) VALUES (?, ?)').run(name, value);
  }

  close(): void {
    this.db.close();
  }
}

function toRecord(r: Row): AlertRecord {
  return {
    id: Number(r.id),
    key: String(r.key),
    rule: String(r.rule),
    severity: String(r.severity),
    subject: JSON.parse(String(r.subject)) as AlertRecord['subject'],
    message: String(r.message),
    firedAt: String(r.fired_at),
    lastSentAt: (r.last_sent_at as string | null) ?? undefined,
    sentCount: Number(r.sent_count),
    resolvedAt: (r.resolved_at as string | null) ?? undefined,
  };
}
