import type { Repository } from '../../../repository/repository.js';
import type { SnapshotEntry } from '../../../repository/format/index.js';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { SegmentSummary } from './wal-summary.js';

/**
 * Base backups and WAL live in ordinary snapshots (docs/adr/0032): base
 * backups under the source name `<name>:pitr-base`, WAL under
 * `<name>:pitr-wal`, each described by `metadata.pitr`. The catalogue of a
 * source is read back from the snapshot listing; nothing else is kept.
 */
export const BASE_TAR_PATH = '/pg_basebackup/base.tar';
export const WAL_DIR = '/pg_wal';

export function baseSourceName(source: string): string {
  return `${source}:pitr-base`;
}

export function walSourceName(source: string): string {
  return `${source}:pitr-wal`;
}

export function walPath(name: string): string {
  return `${WAL_DIR}/${name}`;
}

/** What a base backup snapshot records. */
export interface BaseBackupRecord {
  kind: 'base';
  format: 1;
  source: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  /** The first and last WAL segment replay needs to reach a consistent state. */
  startWal: string;
  stopWal: string;
  startTime: string;
  stopTime: string;
  serverVersion: string;
  serverVersionNum: number;
  systemIdentifier: string;
  dataChecksums: boolean;
  walSegmentSize: number;
  tarBytes: number;
  tarSha256: string;
}

/** One archived WAL or history file and the snapshot holding it. */
export interface ArchivedFile extends SegmentSummary {
  name: string;
  size: number;
  sha256: string;
  /** When it was stored (or spooled, for async pushes): WAL in it was written before this. */
  archivedAt: string;
}

const PARTIAL = '.partial';

/** Whether a stored name is a partial segment (`000000010000000000000003.partial`). */
export function isPartialName(name: string): boolean {
  return name.endsWith(PARTIAL);
}

/** What a snapshot records about the WAL file it holds. */
export interface WalRecord {
  kind: 'wal';
  format: 1;
  source: string;
  files: ArchivedFile[];
}

export interface StoredFile extends ArchivedFile {
  snapshot: string;
}

export interface BaseBackup extends BaseBackupRecord {
  snapshot: SnapshotEntry;
}

/** Every base backup and archived WAL file of a PostgreSQL source. */
export interface WalCatalog {
  source: string;
  bases: BaseBackup[];
  /**
   * Every archived file by name (the oldest copy when a name was stored twice
   * with the same content). A partial segment (`X.partial`, shipped by stream
   * mode) is kept in its newest copy, and also stands under the segment's own
   * name `X` while the complete segment is not archived: replay may read it as
   * the last segment (`stored.name` then says it is the partial).
   */
  files: Map<string, StoredFile>;
  walSnapshots: SnapshotEntry[];
}

export function pitrRecordOf(s: SnapshotEntry): BaseBackupRecord | WalRecord | undefined {
  const p = (s.metadata as { pitr?: { kind?: unknown } } | undefined)?.pitr;
  if (!p || typeof p !== 'object') return undefined;
  return p.kind === 'base' || p.kind === 'wal' ? (p as BaseBackupRecord | WalRecord) : undefined;
}

/** Whether a snapshot holds archived WAL (ordinary retention policies must never act on those). */
export function isWalSnapshot(s: SnapshotEntry): boolean {
  return pitrRecordOf(s)?.kind === 'wal';
}

/** The WAL catalog of a source from its archived WAL and base backup snapshots. */
export function catalogFrom(source: string, snapshots: SnapshotEntry[]): WalCatalog {
  const bases: BaseBackup[] = [];
  const files = new Map<string, StoredFile>();
  const walSnapshots: SnapshotEntry[] = [];
  for (const s of snapshots) {
    const rec = pitrRecordOf(s);
    if (!rec || rec.source !== source) continue;
    if (rec.kind === 'base' && s.source === baseSourceName(source)) bases.push({ ...rec, snapshot: s });
    if (rec.kind === 'wal' && s.source === walSourceName(source)) {
      walSnapshots.push(s);
      for (const f of rec.files) {
        const had = files.get(f.name);
        // A newer copy of a partial segment supersedes the older ones (it holds more WAL).
        if (!had || (isPartialName(f.name) && f.archivedAt > had.archivedAt))
          files.set(f.name, { ...f, snapshot: s.id });
      }
    }
  }
  for (const [name, f] of [...files]) {
    const segment = name.slice(0, -PARTIAL.length);
    if (isPartialName(name) && !files.has(segment)) files.set(segment, f);
  }
  bases.sort((a, b) => (a.stopTime < b.stopTime ? -1 : a.stopTime > b.stopTime ? 1 : 0));
  return { source, bases, files, walSnapshots };
}

/** The catalogue of one source, from the repository's snapshots; an unreadable snapshot makes it untrustworthy. */
export async function loadCatalog(repo: Repository, source: string): Promise<WalCatalog> {
  const listed = await repo.listSnapshots();
  if (listed.problems.length) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `${listed.problems.length} snapshot(s) could not be read, so the WAL archive of "${source}" cannot be trusted to be complete`,
      {
        hint: 'run `lifeboat check` to see what is damaged',
      },
    );
  }
  return catalogFrom(source, listed.snapshots);
}
