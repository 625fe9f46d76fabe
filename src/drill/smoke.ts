import type { SourceType } from '../config/source-schemas.js';
import { isLifeboatError } from '../errors/index.js';
import { runChild } from '../sources/child-process.js';
import type { Restored } from '../sources/contract.js';

export interface SmokeResult {
  command: string;
  ok: boolean;
  exitCode: number | null;
  durationMs: number;
  /** The end of its output (stdout, or the error with stderr when it failed). */
  output: string;
}

const KEEP = 2000;

/**
 * What the smoke command is told about the restored copy. It runs with the
 * user's environment (libpq's ~/.pgpass, MYSQL_PWD) plus these; Lifeboat never
 * passes a password to it.
 */
export function smokeEnv(
  type: SourceType,
  restored: Restored,
  snapshot: { id: string; source: string },
): Record<string, string> {
  const d = restored.details;
  const env: Record<string, string> = {
    LIFEBOAT_DRILL_SOURCE: snapshot.source,
    LIFEBOAT_DRILL_SNAPSHOT: snapshot.id,
    LIFEBOAT_DRILL_LOCATION: restored.location,
  };
  const set = (name: string, value: unknown) => {
    if (typeof value === 'string' || typeof value === 'number') env[name] = String(value);
  };
  set('LIFEBOAT_DRILL_FILE', d.file);
  set('LIFEBOAT_DRILL_DIR', d.dir ?? d.dataDir);
  set('LIFEBOAT_DRILL_DATABASE', d.database);
  set('LIFEBOAT_DRILL_HOST', d.socket ?? d.host);
  set('LIFEBOAT_DRILL_PORT', d.port);
  set('LIFEBOAT_DRILL_USER', d.user);
  if (type === 'postgres') {
    set('PGHOST', d.host);
    set('PGPORT', d.port);
    set('PGUSER', d.user);
    set('PGDATABASE', d.database);
  }
  return env;
}

/** Run the source's smoke command against the restored copy: exit 0 means the application can use it. */
export async function runSmoke(
  command: string,
  env: Record<string, string>,
  options: { signal: AbortSignal; timeoutMs: number; cwd?: string },
): Promise<SmokeResult> {
  const started = Date.now();
  try {
    const out = await runChild({
      label: 'smoke command',
      command: '/bin/sh',
      args: ['-c', command],
      env,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      cwd: options.cwd,
    });
    return { command, ok: true, exitCode: 0, durationMs: Date.now() - started, output: out.slice(-KEEP) };
  } catch (err) {
    if (options.signal.aborted) throw err;
    const exitCode = isLifeboatError(err) && typeof err.context.exitCode === 'number' ? err.context.exitCode : null;
    return {
      command,
      ok: false,
      exitCode,
      durationMs: Date.now() - started,
      output: (err as Error).message.slice(-KEEP),
    };
  }
}
