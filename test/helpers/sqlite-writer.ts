import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';

/**
 * An application that keeps writing to a SQLite database from its own process
 * (as a real one would): inserts and updates at a steady rate, with a WAL
 * checkpoint every 200 writes in WAL mode. Stop it to get how many it wrote.
 */
export async function startSqliteWriter(file: string, ratePerSecond = 400): Promise<{ stop: () => Promise<number> }> {
  const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(betterSqlite)});
    const db = new Database(${JSON.stringify(file)}, { timeout: 10000 });
    const wal = db.pragma('journal_mode', { simple: true }) === 'wal';
    const insert = db.prepare("INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?)");
    const touch = db.prepare("UPDATE accounts SET balance = balance + 1 WHERE id = ?");
    let n = 0, stop = false;
    process.on('SIGTERM', () => { stop = true; });
    process.stdout.write('ready\\n');
    const tick = () => {
      if (stop) { db.close(); process.stdout.write('wrote ' + n + '\\n'); process.exit(0); }
      for (let i = 0; i < ${Math.max(1, Math.round(ratePerSecond / 100))}; i++) {
        insert.run('tick', 'x'.repeat(200), new Date().toISOString());
        touch.run(1 + (n % 500));
        n++;
        if (wal && n % 200 === 0) db.pragma('wal_checkpoint(PASSIVE)');
      }
      setTimeout(tick, 10);
    };
    tick();
  `;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  while (!out.includes('ready')) await once(child.stdout!, 'data');
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
      return Number(/wrote (\d+)/.exec(out)?.[1] ?? 0);
    },
  };
}
