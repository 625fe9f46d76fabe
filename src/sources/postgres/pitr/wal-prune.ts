import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import { parseDuration } from '../../../config/duration.js';
import type { Repository } from '../../../repository/repository.js';
import type { SnapshotEntry } from '../../../repository/format/index.js';
import { writeTombstone } from '../../../repository/tombstone.js';
import { auditRecord, writeAudit, type AuditedRemoval } from '../../../retention/audit.js';
import { catalogFrom, isPartialName, pitrRecordOf, type BaseBackup, type WalCatalog } from './catalog.js';
import { historyTimeline, parseLsn, parseSegmentName, segmentOf } from './wal-names.js';

/** Which archived WAL no kept base backup needs. */
export interface WalPrunePlan {
  remove: SnapshotEntry[];
  keep: SnapshotEntry[];
  /** Kept WAL snapshots holding a file some base backup needs. */
  neededByBase: number;
  /** Snapshots (among `remove`) holding only partial segments that a newer copy or the complete segment supersedes. */
  superseded: Set<string>;
}

/** Whether a stored partial segment is superseded: the catalogue holds a newer copy of it, or the complete segment. */
function supersededPartial(name: string, snapshot: string, catalog: WalCatalog): boolean {
  if (!isPartialName(name)) return false;
  const segment = catalog.files.get(name.slice(0, 24));
  return catalog.files.get(name)?.snapshot !== snapshot || (segment !== undefined && segment.name !== name);
}

/** Whether a kept base backup may need this WAL file: history files always; segments from its start on, on its timeline or a later one. */
export function neededByAnyBase(name: string, bases: BaseBackup[]): boolean {
  if (historyTimeline(name) !== undefined) return true;
  const seg = /^([0-9A-F]{24})(\.partial)?$/.exec(name)?.[1];
  if (!seg) return false; // a .backup history file: informational only
  return bases.some((b) => {
    const p = parseSegmentName(seg, b.walSegmentSize)!;
    return p.timeline >= b.timeline && p.segno >= segmentOf(parseLsn(b.startLsn), b.walSegmentSize);
  });
}

/**
 * Which WAL snapshots may go: those whose every file is older than the
 * retention and needed by no kept base backup, and those holding only
 * superseded partial segments (stream mode ships a growing partial every few
 * seconds; only its newest copy, until the complete segment arrives, is ever
 * read). A snapshot with one needed file stays whole (a batch is removed as a
 * unit).
 */
export function planWalPrune(catalog: WalCatalog, retentionSeconds: number, now: Date): WalPrunePlan {
  const cutoff = now.getTime() - retentionSeconds * 1000;
  const remove: SnapshotEntry[] = [];
  const keep: SnapshotEntry[] = [];
  let neededByBase = 0;
  const superseded = new Set<string>();
  for (const s of catalog.walSnapshots) {
    const rec = pitrRecordOf(s);
    const files = rec?.kind === 'wal' ? rec.files : [];
    if (files.length && files.every((f) => supersededPartial(f.name, s.id, catalog))) {
      superseded.add(s.id);
      remove.push(s);
      continue;
    }
    const needed = files.some((f) => neededByAnyBase(f.name, catalog.bases));
    const old = files.every((f) => new Date(f.archivedAt).getTime() < cutoff);
    if (needed) neededByBase++;
    (old && !needed ? remove : keep).push(s);
  }
  return { remove, keep, neededByBase, superseded };
}

/** The archived WAL `pruneWal` removed. */
export interface WalPruneResult {
  removed: Array<{ snapshot: string; files: string[] }>;
  removedFiles: number;
  kept: number;
  neededByBase: number;
  dryRun: boolean;
}

/** Apply WAL retention under the exclusive lock; removals are audited and tombstoned as `forget` does. Data is freed by `prune`. */
export async function pruneWal(
  repo: Repository,
  source: string,
  options: { retention: string; dryRun?: boolean; now?: Date },
): Promise<WalPruneResult> {
  repo.requireAdmin('wal prune');
  const now = options.now ?? new Date();
  const run = async (): Promise<WalPruneResult> => {
    await repo.prepareRead();
    const listed = await repo.listSnapshots();
    if (listed.problems.length)
      throw new LifeboatError(
        ErrorCode.Failure,
        `${listed.problems.length} snapshot(s) could not be read; no WAL was removed`,
        { hint: 'run `lifeboat check` to see what is damaged' },
      );
    const plan = planWalPrune(catalogFrom(source, listed.snapshots), parseDuration(options.retention), now);
    const removed = plan.remove.map((s) => ({
      snapshot: s.id,
      files: (pitrRecordOf(s) as { files: Array<{ name: string }> }).files.map((f) => f.name),
    }));
    const result = {
      removed,
      removedFiles: removed.reduce((n, r) => n + r.files.length, 0),
      kept: plan.keep.length,
      neededByBase: plan.neededByBase,
      dryRun: Boolean(options.dryRun),
    };
    if (options.dryRun || plan.remove.length === 0) return result;
    const audited: AuditedRemoval[] = plan.remove.map((s) => ({
      snapshot: s.id,
      time: s.time,
      host: s.host,
      source: s.source ?? '',
      rule: plan.superseded.has(s.id)
        ? 'partial WAL segment superseded by a newer copy or the complete segment'
        : `WAL older than ${options.retention}, needed by no kept base backup`,
    }));
    const audit = await writeAudit(
      repo,
      auditRecord(repo, `wal_retention ${options.retention}`, audited, now),
      undefined,
    );
    for (const s of plan.remove) {
      await writeTombstone(repo, {
        snapshot: s.id,
        time: s.time,
        tree: s.tree,
        forgottenAt: now.toISOString(),
        audit: `audit/${audit}`,
      });
      await repo.storage.remove(`snapshots/${s.id}`);
    }
    return result;
  };
  return options.dryRun ? run() : repo.withLock(true, 'wal prune', run);
}
