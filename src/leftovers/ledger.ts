/**
 * The ledger of external resources: one small JSON file per resource a
 * process made outside its own temp directory (a scratch database, a
 * server-side snapshot, a detached child process, a directory elsewhere),
 * written before the resource is made and removed once it is gone. What a
 * killed process leaves in it is what the sweep removes (`sweep.ts`).
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, LifeboatError, systemErrorCode } from '../errors/index.js';
import { defaultCacheRoot } from '../repository/cache.js';
import { currentOwner, ownerSchema, type Owner } from './owner.js';
import { resourceSchema, type Resource } from './resource.js';
import { makeDirectories } from '../util/make-dirs.js';

export interface LedgerRecord {
  format: 1;
  id: string;
  owner: Owner;
  createdAt: string;
  /** The configured source it belongs to: the sweep takes credentials from there. */
  source: string | null;
  resource: Resource;
}

const recordSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  owner: ownerSchema,
  createdAt: z.string(),
  source: z.string().nullable(),
  resource: resourceSchema,
});

const ID = /^[a-z0-9][a-z0-9_-]*$/;
const SUFFIX = '.json';
const TEMP_PREFIX = '.tmp-';

export interface LedgerListing {
  records: LedgerRecord[];
  /** Files that are not records (damaged, foreign, half-written temporaries older than a minute). */
  unreadable: Array<{ file: string; why: string }>;
  /** Temporaries of writers killed mid-write (named `.tmp-*`, older than a minute). */
  staleTemporaries: string[];
}

/** Ledger directory for a config: `<state_dir>/leftovers` when it sets one, else `<cache root>/leftovers`. */
export function ledgerDirFor(stateDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir ?? defaultCacheRoot(env), 'leftovers');
}

export class Ledger {
  constructor(readonly dir: string) {}

  /** Record `resource` (durably unless it cannot outlive a reboot, like a process). */
  async add(resource: Resource, options: { source?: string | null; id?: string } = {}): Promise<LedgerRecord> {
    const id = options.id ?? `${resource.kind}-${randomBytes(8).toString('hex')}`;
    if (!ID.test(id)) throw new LifeboatError(ErrorCode.Failure, `invalid ledger id ${JSON.stringify(id)}`);
    const record: LedgerRecord = {
      format: 1,
      id,
      owner: currentOwner(),
      createdAt: new Date().toISOString(),
      source: options.source ?? null,
      resource,
    };
    await this.write(record, resource.kind !== 'process');
    return record;
  }

  /** Replace a record (the snapshot name became known). */
  async update(record: LedgerRecord, resource: Resource): Promise<LedgerRecord> {
    const next = { ...record, resource };
    await this.write(next, true);
    return next;
  }

  /** The file that holds the record `id`. */
  fileOf(id: string): string {
    return path.join(this.dir, `${id}${SUFFIX}`);
  }

  async forget(id: string): Promise<void> {
    await fs.unlink(this.fileOf(id)).catch((err: unknown) => {
      if (systemErrorCode(err) !== 'ENOENT') throw this.failure('remove a record from', err);
    });
  }

  /** Every record; one readdir when the ledger is empty or absent. */
  async list(now = Date.now()): Promise<LedgerListing> {
    const out: LedgerListing = { records: [], unreadable: [], staleTemporaries: [] };
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (systemErrorCode(err) === 'ENOENT') return out;
      throw this.failure('read', err);
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        const st = await fs.stat(file).catch(() => undefined);
        if (st && now - st.mtimeMs > 60_000) out.staleTemporaries.push(file);
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const text = await fs.readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // removed meanwhile
      const parsed = recordSchema.safeParse(parseJson(text));
      if (parsed.success && `${parsed.data.id}${SUFFIX}` === name) out.records.push(parsed.data);
      else
        out.unreadable.push({
          file,
          why: parsed.success
            ? 'its id does not match its name'
            : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
    }
    return out;
  }

  /** Atomic: a temporary in the same directory, renamed over the name; 0600 in a 0700 directory. */
  private async write(record: LedgerRecord, durable: boolean): Promise<void> {
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await makeDirectories(this.dir, 0o700);
      const handle = await fs.open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        if (durable) await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, this.fileOf(record.id));
      if (durable) await syncDir(this.dir);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw this.failure('write to', err);
    }
  }

  private failure(what: string, err: unknown): LifeboatError {
    return new LifeboatError(
      ErrorCode.Failure,
      `cannot ${what} the ledger of external resources ${this.dir}: ${(err as Error).message}`,
      {
        hint: 'it lives in state_dir, else in the cache directory ($LIFEBOAT_CACHE_DIR); make it writable',
        cause: err,
      },
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

let current: Ledger | undefined;

/** The ledger this process records into: set once from the config (`ledgerDirFor`), else the cache root's. */
export function useLedger(dir: string): Ledger {
  current = new Ledger(dir);
  return current;
}

export function currentLedger(): Ledger {
  current ??= new Ledger(ledgerDirFor());
  return current;
}
