/**
 * What the repository server must remember across restarts, in
 * `<state>/ledger.json`: the bytes each token has stored (its quota use) and
 * which append token created each lock object still present (so that token,
 * and only it, may remove it). Written after every change, coalesced; a
 * request is answered only once the change it made is on disk.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { writeFileAtomic } from './atomic-file.js';

const schema = z.object({
  version: z.literal(1),
  usage: z.record(z.string(), z.number().nonnegative()),
  locks: z.record(z.string(), z.string()),
});

export class Ledger {
  private usage = new Map<string, number>();
  private lockOwners = new Map<string, string>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(readonly file: string) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new LifeboatError(ErrorCode.Config, `${file} is not a repository-server ledger`, {
        hint: 'restore it from a backup; removing it resets every quota use and lock ownership',
      });
    this.usage = new Map(Object.entries(parsed.data.usage));
    this.lockOwners = new Map(Object.entries(parsed.data.locks));
  }

  static in(stateDir: string): Ledger {
    return new Ledger(path.join(stateDir, 'ledger.json'));
  }

  used(token: string): number {
    return this.usage.get(token) ?? 0;
  }

  /** Adds (or, with a negative amount, gives back) bytes to a token's use; in memory until `flush`. */
  addUsage(token: string, bytes: number): void {
    this.usage.set(token, Math.max(0, this.used(token) + bytes));
  }

  lockOwner(name: string): string | undefined {
    return this.lockOwners.get(name);
  }

  setLockOwner(name: string, token: string | undefined): void {
    if (token === undefined) this.lockOwners.delete(name);
    else this.lockOwners.set(name, token);
  }

  /** Persists the current state; concurrent calls share writes. */
  flush(): Promise<void> {
    this.dirty = true;
    const next = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const doc = {
        version: 1,
        usage: Object.fromEntries(this.usage),
        locks: Object.fromEntries(this.lockOwners),
      };
      await writeFileAtomic(this.file, `${JSON.stringify(doc)}\n`);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
