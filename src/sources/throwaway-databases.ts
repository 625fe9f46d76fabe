/**
 * The database servers this process started for itself (a drill's throwaway
 * server), by the socket they listen on. A database created on one needs no
 * ledger record: it goes with the server's own directory, which is recorded
 * (and swept) itself, and the server is gone when a sweep would look for it.
 *
 * @module
 */

const ours = new Set<string>();

/** Mark a throwaway server's socket (a postgres socket directory, a mysql socket file); returns the unmark. */
export function markThrowawayServer(socket: string): () => void {
  ours.add(socket);
  return () => void ours.delete(socket);
}

export function isThrowawayServer(socket: string | undefined): boolean {
  return socket !== undefined && ours.has(socket);
}

/** A started throwaway database server: where it listens, as a URL without a password, and how to stop it. */
export interface ThrowawayDatabase {
  /** The source's URL rewritten to this server (same database, the server's superuser, its socket). */
  url: string;
  /** Which binaries, for the report. */
  binaries: string;
  /** Stop the server and remove its directory. */
  stop(): Promise<void>;
}
