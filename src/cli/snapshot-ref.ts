import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, resolveSnapshotRef, sortByTime, type SnapshotEntry } from '../repository/format/index.js';
import { nodeAt, type TreeSource } from '../repository/snapshot-tree/index.js';
// The same tolerance as retention: a few minutes of clock drift between hosts is not "the future".
import { FUTURE_TOLERANCE_MS } from '../retention/plan.js';
import { escapeName } from '../util/escape-name.js';

/** What narrows `latest`: the source, the host, and a path the snapshot must contain. */
export interface SnapshotSelector {
  host?: string;
  source?: string;
  /** An absolute path inside the snapshot; `/` (or none) does not narrow. */
  path?: string;
  /** Only path backups (no source) of exactly these paths. */
  backupOf?: string[];
  /** Current time in ms (for tests); snapshots dated after it plus the tolerance are "from the future". */
  now?: number;
}

export interface FoundSnapshot {
  snapshot: SnapshotEntry;
  /** Things the user should know about the choice (snapshots from the future that were passed over). */
  warnings: string[];
}

/**
 * Resolve `latest`, an id or a prefix. `latest` is the newest snapshot that
 * matches the source, host and path; without `--source`, candidates of several
 * sources are a usage error naming them (the newest of *any* source is rarely
 * what anyone means). Snapshots dated in the future are passed over with a
 * warning, unless only such snapshots match.
 */
export async function findSnapshot(
  repo: Repository,
  ref: string,
  selector: SnapshotSelector = {},
  warn?: (text: string) => void,
): Promise<SnapshotEntry> {
  const { snapshots } = await repo.listSnapshots();
  const found = await selectSnapshot(repo, snapshots, ref, selector);
  for (const w of found.warnings) warn?.(w);
  return found.snapshot;
}

export async function selectSnapshot(
  repo: TreeSource,
  snapshots: SnapshotEntry[],
  ref: string,
  selector: SnapshotSelector = {},
): Promise<FoundSnapshot> {
  if (ref !== 'latest') return { snapshot: resolveSnapshotRef(snapshots, ref), warnings: [] };
  const filter = {
    ...(selector.host ? { host: selector.host } : {}),
    ...(selector.source ? { source: selector.source } : {}),
  };
  const path = normalPath(selector.path);
  const sameSet = (s: SnapshotEntry) =>
    !selector.backupOf ||
    (s.source === undefined &&
      s.paths.length === selector.backupOf.length &&
      selector.backupOf.every((p) => s.paths.includes(p)));
  const newestFirst = sortByTime(snapshots.filter((s) => matchesFilter(s, filter) && sameSet(s))).reverse();
  const now = selector.now ?? Date.now();
  const future = (s: SnapshotEntry) => Date.parse(s.time) > now + FUTURE_TOLERANCE_MS;

  // Unchanged data keeps its root tree id: look each tree up once.
  const byTree = new Map<string, Promise<boolean>>();
  const holds = (s: SnapshotEntry) => {
    if (s.paths.includes(path!)) return Promise.resolve(true);
    if (!byTree.has(s.tree)) byTree.set(s.tree, holdsPath(repo, s, path!));
    return byTree.get(s.tree)!;
  };

  // The newest snapshot per source (path backups without a source form one group).
  const perGroup = new Map<string, { pick: SnapshotEntry; skipped: SnapshotEntry[] }>();
  const skippedFuture = new Map<string, SnapshotEntry[]>();
  for (const s of newestFirst) {
    const key = s.source ?? '';
    if (perGroup.has(key)) continue;
    if (path && !(await holds(s))) continue;
    if (future(s)) {
      skippedFuture.set(key, [...(skippedFuture.get(key) ?? []), s]);
      continue;
    }
    perGroup.set(key, { pick: s, skipped: skippedFuture.get(key) ?? [] });
  }
  // A source with only future snapshots: its newest one, said plainly.
  for (const [key, list] of skippedFuture) if (!perGroup.has(key)) perGroup.set(key, { pick: list[0]!, skipped: [] });

  const narrowed = [
    selector.source ? `source "${selector.source}"` : '',
    selector.host ? `host "${selector.host}"` : '',
    path ? `containing ${escapeName(path)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (perGroup.size === 0) {
    throw new LifeboatError(ErrorCode.NotFound, `no snapshot matches${narrowed ? ` (${narrowed})` : ''}`, {
      hint: 'list them with `lifeboat snapshots`',
    });
  }
  if (perGroup.size > 1) {
    const names = [...perGroup.entries()].map(
      ([key, g]) =>
        `${key ? `"${key}"` : 'path backups without a source'} (newest ${g.pick.id.slice(0, 8)} of ${g.pick.time})`,
    );
    throw new LifeboatError(
      ErrorCode.Usage,
      `"latest" is ambiguous: snapshots of ${perGroup.size} sources match${narrowed ? ` (${narrowed})` : ''}: ${names.join(', ')}`,
      {
        hint: 'name one with --source NAME, or give a snapshot id',
      },
    );
  }
  const { pick, skipped } = [...perGroup.values()][0]!;
  const warnings: string[] = [];
  if (future(pick)) {
    warnings.push(
      `snapshot ${pick.id.slice(0, 8)} is dated ${pick.time}, in the future (the clock of host "${pick.host}" may be wrong); it is the only match, so it is used`,
    );
  }
  if (skipped.length) {
    warnings.push(
      `passed over ${skipped.length} snapshot${skipped.length === 1 ? '' : 's'} dated in the future: ${skipped.map((s) => `${s.id.slice(0, 8)} of ${s.time} (host "${s.host}")`).join(', ')}; "latest" is ${pick.id.slice(0, 8)} of ${pick.time}. Give an id to use one of them`,
    );
  }
  return { snapshot: pick, warnings };
}

/**
 * The snapshots several commands act on (`stats`, `tag`): the ones named (ids,
 * prefixes, `latest` narrowed by the selector), or with no name every snapshot
 * matching `--source`, `--host` and `--tag`. Oldest first, each once.
 */
export async function chooseSnapshots(
  repo: Repository,
  refs: string[],
  selector: SnapshotSelector & { tags?: string[] },
  warn?: (text: string) => void,
): Promise<SnapshotEntry[]> {
  const { snapshots } = await repo.listSnapshots();
  if (refs.length === 0)
    return sortByTime(
      snapshots.filter((s) => matchesFilter(s, { source: selector.source, host: selector.host, tags: selector.tags })),
    );
  const chosen = new Map<string, SnapshotEntry>();
  for (const ref of refs) {
    const found = await selectSnapshot(repo, snapshots, ref, selector);
    for (const w of found.warnings) warn?.(w);
    chosen.set(found.snapshot.id, found.snapshot);
  }
  return sortByTime([...chosen.values()]);
}

function normalPath(p: string | undefined): string | undefined {
  if (!p) return undefined;
  const clean = '/' + p.split('/').filter(Boolean).join('/');
  return clean === '/' ? undefined : clean;
}

/** The snapshot was taken of this path, or its tree contains it. */
async function holdsPath(repo: TreeSource, s: SnapshotEntry, path: string): Promise<boolean> {
  if (s.paths.includes(path)) return true;
  try {
    await nodeAt(repo, s.tree, path);
    return true;
  } catch (err) {
    if (err instanceof LifeboatError && err.code === ErrorCode.NotFound) return false;
    throw err;
  }
}
