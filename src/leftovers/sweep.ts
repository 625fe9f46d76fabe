/**
 * The sweep: remove what processes that no longer run left behind — the
 * resources in the ledgers whose owner is dead, and Lifeboat's directories
 * in the temp base whose owner file names a dead process. A live owner's
 * resources, and those made on another host, are never touched. What cannot
 * be removed stays recorded and is reported with a hint.
 *
 * @module
 */

import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SourceConfig } from '../config/source-schemas.js';
import { Ledger, type LedgerRecord } from './ledger.js';
import { ownerState, type Owner, type OwnerState } from './owner.js';
import { removeDirectory } from './remove-directory.js';
import { removeProcess } from './remove-process.js';
import type { Removal, RemovalContext, SourceRemovers } from './removal.js';
import { describeResource, OWN_DIRECTORY, type Resource } from './resource.js';
import { dirOwner } from './temp-dir.js';

export interface SweepOptions {
  /** Ledger directories to read (`ledgerDirFor`). */
  ledgers: string[];
  /** Where run directories are searched (default: the system temp directory). */
  tempBases?: string[];
  sources?: Record<string, SourceConfig>;
  /** How to remove the databases and server-side snapshots sources make (`sourceRemovers` of sources/). */
  removers: SourceRemovers;
  dryRun?: boolean;
  log?: (line: string) => void;
  now?: () => number;
}

/** One leftover a sweep found, and whether it was removed. */
export interface SweptResource {
  /** For people: what it is and where. */
  what: string;
  kind: Resource['kind'];
  source: string | null;
  owner: { host: string; pid: number };
  /** When it was recorded (or the directory made). */
  since: string;
  status: Removal['status'];
  why?: string;
  hint?: string;
  /** The ledger record (absent for directories found in the temp base). */
  record?: string;
}

/** What a sweep of leftovers found and removed (temporary files, containers, databases left by killed runs). */
export interface SweepReport {
  dryRun: boolean;
  /** Removed (with dryRun: would be removed). */
  removed: SweptResource[];
  /** Could not be removed; each has a hint. */
  kept: SweptResource[];
  /** Not decidable yet; looked at again by the next sweep. */
  waiting: SweptResource[];
  /** Records whose resource was already gone. */
  cleared: number;
  /** Resources of running processes, left alone. */
  live: number;
  /** Resources made on another host or in another pid namespace, left alone. */
  foreign: number;
  unreadable: Array<{ file: string; why: string }>;
}

/** Processes first (a server must stop before its directory goes), directories last. */
const ORDER: Record<Resource['kind'], number> = {
  process: 0,
  'held-container': 1,
  'tsdb-snapshot': 2,
  database: 3,
  directory: 4,
};

export async function sweepLeftovers(options: SweepOptions): Promise<SweepReport> {
  const dryRun = options.dryRun === true;
  const ctx: RemovalContext = {
    sources: options.sources ?? {},
    dryRun,
    now: (options.now ?? Date.now)(),
    log: options.log ?? (() => {}),
  };
  const report: SweepReport = {
    dryRun,
    removed: [],
    kept: [],
    waiting: [],
    cleared: 0,
    live: 0,
    foreign: 0,
    unreadable: [],
  };
  await sweepLedgers(options.ledgers, options.removers, ctx, report);
  for (const base of options.tempBases ?? [os.tmpdir()]) await sweepTempBase(base, ctx, report);
  return report;
}

function tally(report: SweepReport, state: OwnerState): boolean {
  if (state === 'alive') report.live++;
  else if (state === 'foreign') report.foreign++;
  return state === 'dead';
}

function note(report: SweepReport, item: SweptResource): void {
  if (item.status === 'removed') report.removed.push(item);
  else if (item.status === 'kept') report.kept.push(item);
  else if (item.status === 'waiting') report.waiting.push(item);
  else report.cleared++;
}

async function sweepLedgers(
  dirs: string[],
  removers: SourceRemovers,
  ctx: RemovalContext,
  report: SweepReport,
): Promise<void> {
  const dead: Array<{ ledger: Ledger; record: LedgerRecord }> = [];
  for (const dir of [...new Set(dirs.map((d) => path.resolve(d)))]) {
    const ledger = new Ledger(dir);
    const listing = await ledger.list(ctx.now);
    report.unreadable.push(...listing.unreadable);
    if (!ctx.dryRun) for (const tmp of listing.staleTemporaries) await rm(tmp, { force: true });
    for (const record of listing.records) if (tally(report, ownerState(record.owner))) dead.push({ ledger, record });
  }
  dead.sort((a, b) => ORDER[a.record.resource.kind] - ORDER[b.record.resource.kind]);
  for (const { ledger, record } of dead) {
    const removal = await remove(record, removers, ctx);
    if (!ctx.dryRun && (removal.status === 'removed' || removal.status === 'gone')) await ledger.forget(record.id);
    note(report, {
      ...item(record.resource, record.source, record.owner, record.createdAt, removal),
      record: ledger.fileOf(record.id),
    });
  }
}

/** Run directories (`lifeboat-*` with an owner file) whose owner is dead. */
async function sweepTempBase(base: string, ctx: RemovalContext, report: SweepReport): Promise<void> {
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (!name.startsWith('lifeboat-') || !OWN_DIRECTORY.test(name)) continue;
    const dir = path.join(base, name);
    const owner = await dirOwner(dir);
    if (!owner || !tally(report, ownerState(owner))) continue; // no owner file: not a run directory (or not ours to read)
    const made = (await stat(dir).catch(() => undefined))?.mtime.toISOString() ?? '';
    note(report, item({ kind: 'directory', path: dir }, null, owner, made, await removeDirectory(dir, ctx)));
  }
}

function remove(record: LedgerRecord, removers: SourceRemovers, ctx: RemovalContext): Promise<Removal> {
  const r = record.resource;
  switch (r.kind) {
    case 'process':
      return removeProcess(r, ctx);
    case 'database':
      return removers.database(r, record.source, ctx);
    case 'tsdb-snapshot':
      return removers['tsdb-snapshot'](r, record.source, ctx);
    case 'directory':
      return removeDirectory(r.path, ctx);
    case 'held-container':
      return removers['held-container'](r, record.source, ctx);
  }
}

function item(resource: Resource, source: string | null, owner: Owner, since: string, removal: Removal): SweptResource {
  return {
    what: describeResource(resource),
    kind: resource.kind,
    source,
    owner: { host: owner.host, pid: owner.pid },
    since,
    status: removal.status,
    ...(removal.status === 'kept' || removal.status === 'waiting' ? { why: removal.why } : {}),
    ...(removal.status === 'kept' ? { hint: removal.hint } : {}),
  };
}
