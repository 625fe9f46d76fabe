/**
 * The repository server's audit log: one JSON line per write (PUT, DELETE,
 * stale-temporary removal) and per refused request (bad or missing token,
 * append-only refusal, quota), with time, token name (never the token), method,
 * object path, bytes and result. Appended in order; mode 0600.
 *
 * @module
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface AuditEntry {
  time: string;
  /** The token's name; `-` when the request carried no valid token. */
  token: string;
  method: string;
  path: string;
  bytes: number;
  status: number;
  /** `ok`, or the error code of the refusal or failure. */
  result: string;
}

export class AuditLog {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  static in(stateDir: string): AuditLog {
    return new AuditLog(path.join(stateDir, 'audit.log'));
  }

  /** Appends one line; a failure to write is reported through `onError`, never thrown at the request. */
  write(entry: Omit<AuditEntry, 'time'>, onError: (err: unknown) => void): Promise<void> {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
    const next = this.chain.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await fs.appendFile(this.file, line, { mode: 0o600 });
    });
    this.chain = next.catch(onError);
    return this.chain;
  }
}
