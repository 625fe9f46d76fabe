import { ErrorCode, LifeboatError } from '../errors/index.js';

/** A snapshot: the root of one backup, stored as `snapshots/<sha256>`. */
export interface SnapshotSummary {
  files: number;
  dirs: number;
  /** Bytes of content in the snapshot. */
  bytes: number;
  /** Files read this run (others were unchanged since the parent). */
  filesRead: number;
  /** Bytes of content that were new to the repository. */
  addedBytes: number;
  /** Bytes written to storage (compressed, encrypted, with pack headers). */
  addedStoredBytes: number;
  durationMs: number;
  /** Inputs that could not be read. */
  errors: number;
}

export interface Snapshot {
  version: 1;
  time: string;
  host: string;
  username: string;
  paths: string[];
  source?: string;
  tags: string[];
  reason?: string;
  parent?: string;
  /** Root tree blob id (hex). */
  tree: string;
  summary: SnapshotSummary;
  program: string;
  /** Free-form record for source-level verification (row counts, schema hash, …). */
  metadata: Record<string, unknown>;
}

/** A snapshot with its id (the object name). */
export interface SnapshotEntry extends Snapshot {
  id: string;
}

export function parseSnapshot(plain: Buffer, id: string): SnapshotEntry {
  let s: Snapshot;
  try {
    s = JSON.parse(plain.toString('utf8')) as Snapshot;
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${id.slice(0, 8)} is not valid JSON`, { cause });
  }
  if (s === null || typeof s !== 'object') throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${id.slice(0, 8)} is not an object`);
  if (s.version !== 1) {
    throw new LifeboatError(ErrorCode.UnsupportedVersion, `snapshot ${id.slice(0, 8)} has unsupported version ${String(s?.version)}`);
  }
  if (typeof s.tree !== 'string' || typeof s.time !== 'string' || !Array.isArray(s.paths)) {
    throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${id.slice(0, 8)} is missing fields`);
  }
  return { ...s, tags: Array.isArray(s.tags) ? s.tags : [], metadata: s.metadata ?? {}, id };
}

export interface SnapshotFilter {
  host?: string;
  source?: string;
  tags?: string[];
  paths?: string[];
}

export function matchesFilter(s: Snapshot, f: SnapshotFilter): boolean {
  if (f.host && s.host !== f.host) return false;
  if (f.source && s.source !== f.source) return false;
  if (f.tags?.length && !f.tags.every((t) => s.tags.includes(t))) return false;
  if (f.paths?.length && !f.paths.every((p) => s.paths.includes(p))) return false;
  return true;
}

export function sortByTime<T extends Snapshot>(list: T[]): T[] {
  return [...list].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** `latest`, a full id or a unique prefix of at least 8 hex digits. */
export function resolveSnapshotRef(list: SnapshotEntry[], ref: string, filter: SnapshotFilter = {}): SnapshotEntry {
  if (ref === 'latest') {
    const matching = sortByTime(list.filter((s) => matchesFilter(s, filter)));
    const last = matching[matching.length - 1];
    if (!last) throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches', { hint: 'list them with `lifeboat snapshots`' });
    return last;
  }
  if (!/^[0-9a-f]{8,64}$/.test(ref)) {
    throw new LifeboatError(ErrorCode.Usage, `"${ref}" is not a snapshot id`, { hint: 'give `latest` or at least 8 hex digits of an id' });
  }
  const found = list.filter((s) => s.id.startsWith(ref));
  if (found.length === 0) throw new LifeboatError(ErrorCode.NotFound, `no snapshot has an id starting with ${ref}`);
  if (found.length > 1) throw new LifeboatError(ErrorCode.Usage, `${ref} matches ${found.length} snapshots`, { hint: 'give more digits' });
  return found[0]!;
}
