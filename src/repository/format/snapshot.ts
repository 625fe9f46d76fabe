/**
 * A snapshot: the root of one backup, stored as `snapshots/<sha256>`.
 *
 * @module
 */

import { z } from 'zod';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { describeIssues } from './schema-issues.js';

/** What a backup stored: files, directories, bytes, what it added, how long it took, errors. */
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

/** A snapshot as stored: when, where and what was backed up, its root tree and summary. */
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

const count = z.number().finite().nonnegative();

/**
 * What a snapshot object must hold before anything reads it. Objects are
 * authenticated, but a buggy or older writer can still produce one that is
 * well-formed JSON with a field missing or null; such a snapshot is refused
 * here (and listed as a problem) instead of crashing whoever reads it later.
 * Unknown fields are kept, so a newer writer's additions survive a copy.
 */
const snapshotSchema = z.looseObject({
  version: z.literal(1),
  time: z.string().refine((t) => Number.isFinite(Date.parse(t)), 'not a time'),
  host: z.string(),
  username: z.string().default(''),
  paths: z.array(z.string()),
  source: z.string().optional(),
  tags: z.array(z.string()).catch([]),
  reason: z.string().optional(),
  parent: z.string().optional(),
  tree: z.string().regex(/^[0-9a-f]{64}$/, 'not a tree id'),
  summary: z.looseObject({
    files: count,
    dirs: count.default(0),
    bytes: count,
    filesRead: count.default(0),
    addedBytes: count.default(0),
    addedStoredBytes: count.default(0),
    durationMs: count.default(0),
    errors: count.default(0),
  }),
  program: z.string().default(''),
  metadata: z.record(z.string(), z.unknown()).default({}),
});

export function parseSnapshot(plain: Buffer, id: string): SnapshotEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(plain.toString('utf8'));
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${id.slice(0, 8)} is not valid JSON`, { cause });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new LifeboatError(ErrorCode.Corrupt, `snapshot ${id.slice(0, 8)} is not an object`);
  const version = (raw as { version?: unknown }).version;
  if (version !== 1)
    throw new LifeboatError(
      ErrorCode.UnsupportedVersion,
      `snapshot ${id.slice(0, 8)} has unsupported version ${String(version)}`,
    );
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `snapshot ${id.slice(0, 8)} is malformed: ${describeIssues(parsed.error)}`,
      { hint: 'it is skipped by every listing; `lifeboat check` reports it' },
    );
  }
  return { ...(parsed.data as Snapshot), id };
}

/** Which snapshots an operation considers: by host, source and tags (all of them). */
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
    if (!last)
      throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches', {
        hint: 'list them with `lifeboat snapshots`',
      });
    return last;
  }
  if (!/^[0-9a-f]{8,64}$/.test(ref)) {
    throw new LifeboatError(ErrorCode.Usage, `"${ref}" is not a snapshot id`, {
      hint: 'give `latest` or at least 8 hex digits of an id',
    });
  }
  const found = list.filter((s) => s.id.startsWith(ref));
  if (found.length === 0) throw new LifeboatError(ErrorCode.NotFound, `no snapshot has an id starting with ${ref}`);
  if (found.length > 1)
    throw new LifeboatError(ErrorCode.Usage, `${ref} matches ${found.length} snapshots`, { hint: 'give more digits' });
  return found[0]!;
}
