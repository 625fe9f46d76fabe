import type { ChildProcess } from 'node:child_process';
import { currentLedger, type LedgerRecord } from './ledger.js';
import { procStat } from './owner.js';
import type { Resource } from './resource.js';

/** A recorded resource: `done` once it is gone (a resource whose removal failed keeps its record for the sweep). */
export interface Tracked {
  update(resource: Resource): Promise<void>;
  done(): Promise<void>;
}

/** Record `resource` in this process's ledger before making it. */
export async function track(
  resource: Resource,
  options: { source?: string | null; id?: string } = {},
): Promise<Tracked> {
  const ledger = currentLedger();
  let record: LedgerRecord = await ledger.add(resource, options);
  return {
    update: async (next) => {
      record = await ledger.update(record, next);
    },
    done: () => ledger.forget(record.id),
  };
}

/** The record id of one of Lifeboat's databases: its name is unique, so the code that drops it can find the record without a handle. */
export function databaseRecordId(engine: 'postgres' | 'mysql', database: string): string {
  return `database-${engine}-${database}`;
}

export function untrack(id: string): Promise<void> {
  return currentLedger().forget(id);
}

/**
 * Record a child process that would outlive a killed parent (it has its own
 * process group, or is a server that never reads its stdin). Best effort and
 * not awaited: a process dies with a reboot, and the spawn must stay
 * synchronous. Call the returned function once it exited.
 */
export function trackChild(child: ChildProcess, label: string, group: boolean): () => Promise<void> {
  const pid = child.pid;
  if (!pid) return async () => {};
  const tracked = track({ kind: 'process', pid, start: procStat(pid)?.start ?? null, label, group }).catch(
    () => undefined,
  );
  return async () => {
    await (await tracked)?.done().catch(() => {});
  };
}
