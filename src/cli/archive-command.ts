import { fileURLToPath } from 'node:url';
import { shellQuote } from '../util/shell-quote.js';

/** The sh spooler shipped with the package (`bin/lifeboat-wal-spool`), next to `dist/`. */
export const WAL_SPOOL_SCRIPT = fileURLToPath(new URL('../../bin/lifeboat-wal-spool', import.meta.url));

/**
 * The postgresql.conf line that archives into `spoolDir` through the sh
 * spooler: PostgreSQL starts no Node process per segment. The value is a
 * postgresql.conf string, so a single quote of the shell quoting is doubled.
 */
export function archiveCommandLine(spoolDir: string): string {
  const command = `${shellQuote(WAL_SPOOL_SCRIPT)} ${shellQuote(spoolDir)} %p`;
  return `archive_command = '${command.replace(/'/g, "''")}'`;
}
