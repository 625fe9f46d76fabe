import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * An application writing a SQLite database in WAL mode from its own process:
 * one small transaction per row of `seq(n)`, n = 1, 2, 3… with no gap, at
 * about `ratePerSecond`, with its own checkpoints (automatic, and a PASSIVE
 * one every 2,000 commits) and, when asked, one VACUUM halfway through. It
 * logs `n <ms>` for every commit to `logFile`, where ms is taken just BEFORE
 * the commit starts: a transaction is never committed earlier than its logged
 * time, so "committed at or before T" can only include rows logged at or
 * before T.
 *
 * `crashInBigTransaction`: after `seconds`, print `committed N`, then open
 * one large transaction whose pages spill into the log before any commit,
 * print `in-transaction`, and wait to be killed.
 */
export interface SequenceWriterOptions {
  file: string;
  logFile: string;
  ratePerSecond: number;
  seconds: number;
  vacuumAt?: number;
  crashInBigTransaction?: boolean;
  /** Start numbering after this (for a writer continuing a database). */
  startAfter?: number;
}

export interface SequenceWriter {
  child: ChildProcess;
  /** Resolves with the last committed n when the writer ends by itself. */
  done: Promise<number>;
  output: () => string;
}

export function startSequenceWriter(o: SequenceWriterOptions): SequenceWriter {
  const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const fs = require('node:fs');
    const Database = require(${JSON.stringify(betterSqlite)});
    const db = new Database(${JSON.stringify(o.file)}, { timeout: 30000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS seq (n INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO seq (n, at, pad) VALUES (?, ?, ?)');
    const log = fs.openSync(${JSON.stringify(o.logFile)}, 'a');
    let lines = [];
    const flush = () => { if (lines.length) { fs.writeSync(log, lines.join('')); lines = []; } };
    let n = ${o.startAfter ?? 0};
    const started = Date.now();
    const end = started + ${o.seconds * 1000};
    const vacuumAt = ${o.vacuumAt === undefined ? 'null' : `started + ${o.vacuumAt * 1000}`};
    let vacuumed = false;
    const perTick = Math.max(1, Math.round(${o.ratePerSecond} / 100));
    function tick() {
      const now = Date.now();
      if (now >= end) return finish();
      // Catch up to the target rate (the timer is coarse on a busy machine).
      const due = Math.min(Math.round((now - started) * ${o.ratePerSecond} / 1000) - (n - ${o.startAfter ?? 0}), perTick * 20);
      for (let i = 0; i < Math.max(due, 0); i++) {
        const at = Date.now();
        insert.run(n + 1, at, 'p'.repeat(60 + ((n * 7) % 80)));
        n++;
        lines.push(n + ' ' + at + '\\n');
        if (n % 2000 === 0) db.pragma('wal_checkpoint(PASSIVE)');
      }
      if (vacuumAt !== null && !vacuumed && now >= vacuumAt) { vacuumed = true; db.exec('VACUUM'); }
      if (lines.length > 500) flush();
      setTimeout(tick, 10);
    }
    function finish() {
      flush();
      if (${Boolean(o.crashInBigTransaction)}) {
        process.stdout.write('committed ' + n + '\\n');
        db.pragma('cache_size = 8');
        db.exec('BEGIN');
        for (let i = 1; i <= 20000; i++) insert.run(n + i, Date.now(), 'q'.repeat(500));
        process.stdout.write('in-transaction\\n');
        setInterval(() => {}, 1000);
        return;
      }
      db.close();
      process.stdout.write('done ' + n + '\\n');
      process.exit(0);
    }
    process.stdout.write('ready\\n');
    tick();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = (async () => {
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`the writer exited with ${code}: ${out}`);
    return Number(/done (\d+)/.exec(out)?.[1] ?? NaN);
  })();
  done.catch(() => {});
  return { child, done, output: () => out };
}

/** The writer's log: n → ms taken before its commit. */
export function readCommitLog(logFile: string): Array<{ n: number; at: number }> {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [n, at] = l.split(' ');
      return { n: Number(n), at: Number(at) };
    });
}

/** The highest n committed with a logged time at or before `ms` (0 when none). */
export function committedAt(log: Array<{ n: number; at: number }>, ms: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.at <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : log[lo - 1]!.n;
}
