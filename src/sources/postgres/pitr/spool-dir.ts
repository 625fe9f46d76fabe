import path from 'node:path';

/** Where `wal-push --async` spools a source's WAL: `spool_dir`, else `<state_dir>/pitr/<source>/spool`. */
export function spoolDirFor(source: string, configured: string | undefined, stateDir: string): string {
  return configured ?? path.join(stateDir, 'pitr', source, 'spool');
}
