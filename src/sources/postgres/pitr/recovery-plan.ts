import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { BaseBackup, StoredFile, WalCatalog } from './catalog.js';
import {
  formatLsn,
  historyName,
  parseLsn,
  parseSegmentName,
  segmentName,
  segmentOf,
  type TimelineSwitch,
} from './wal-names.js';

/** Where a point-in-time recovery stops: a time, an LSN, a named restore point, or the end of the archived WAL. */
export type RecoveryTarget =
  | { kind: 'time'; time: Date }
  | { kind: 'lsn'; lsn: bigint }
  | { kind: 'name'; name: string }
  /** Replay every archived segment. */
  | { kind: 'latest' };

/** The base backup and WAL files that reach a recovery target. */
export interface RecoveryPlan {
  base: BaseBackup;
  /** The timeline recovery ends on (recovery_target_timeline = latest finds the same one). */
  timeline: number;
  /** Every WAL file replay will ask for, in order (history files first). */
  files: string[];
  /** The last segment needed. */
  lastSegment: string;
  target: RecoveryTarget;
}

/**
 * Decide, before anything is written, whether the archive can reach the
 * target and from which base backup: the newest base backup that ended before
 * the target (or the one asked for), the timeline path from the archived
 * history files, and every segment from the base backup's start to the one
 * where replay stops. A missing segment (a gap) or a target the archive does
 * not reach is an error that says what can be reached instead.
 *
 * For a time target, replay stops at the first transaction end after the
 * target, so the plan needs the segments up to the first one whose last
 * recorded transaction end is past the target (segments are summarised by
 * pg_waldump when archived; a segment without a summary counts by its
 * archive time, which is later than anything in it).
 */
export function planRecovery(
  catalog: WalCatalog,
  histories: Map<number, TimelineSwitch[]>,
  target: RecoveryTarget,
  baseId?: string,
): RecoveryPlan {
  const bases = baseId ? catalog.bases.filter((b) => b.snapshot.id.startsWith(baseId)) : catalog.bases;
  if (bases.length === 0) {
    throw new LifeboatError(
      ErrorCode.NotFound,
      baseId ? `no base backup ${baseId} of "${catalog.source}"` : `"${catalog.source}" has no base backup`,
      {
        hint: baseId
          ? 'list them with `lifeboat snapshots --source SOURCE:pitr-base`'
          : 'take one with `lifeboat base-backup --source SOURCE`',
      },
    );
  }
  const usable = bases.filter((b) => endsBefore(b, target, catalog));
  if (usable.length === 0) {
    const first = bases[0]!;
    throw new LifeboatError(
      ErrorCode.WalGap,
      `the target ${describeTarget(target)} is before the end of ${baseId ? 'base backup' : 'the oldest base backup'} ${first.snapshot.id.slice(0, 8)} (${first.stopTime}, LSN ${first.stopLsn}); nothing was written`,
      {
        hint: 'a restore can only reach moments after a base backup finished: choose a later target',
      },
    );
  }
  const base = usable[usable.length - 1]!;
  const segSize = base.walSegmentSize;
  const path = timelinePath(base, histories);
  const timeline = path[path.length - 1]!.tli;
  const tliFor = (segno: bigint) => {
    let tli = path[0]!.tli;
    for (const p of path) if (p.beginSeg <= segno) tli = p.tli;
    return tli;
  };
  const startSeg = segmentOf(parseLsn(base.startLsn), segSize);
  const stopSeg = segmentOf(parseLsn(base.stopLsn) - 1n, segSize);
  let newest = -1n;
  for (const name of catalog.files.keys()) {
    const parsed = parseSegmentName(name, segSize);
    if (
      parsed &&
      path.some((p) => p.tli === parsed.timeline) &&
      parsed.segno > newest &&
      tliFor(parsed.segno) === parsed.timeline
    )
      newest = parsed.segno;
  }
  const files = path.slice(1).map((p) => historyName(p.tli));
  let lastGood: StoredFile | undefined;
  for (let segno = startSeg; ; segno++) {
    const name = segmentName(tliFor(segno), segno, segSize);
    const stored = catalog.files.get(name);
    if (segno > newest) {
      throw new LifeboatError(
        ErrorCode.WalGap,
        `the archive of "${catalog.source}" ends at ${lastGood?.name ?? 'the base backup'} and does not reach ${describeTarget(target)}; nothing was written`,
        {
          hint: `${reachable(lastGood)}; wait for more WAL to be archived, or choose an earlier target`,
        },
      );
    }
    if (!stored) {
      throw new LifeboatError(
        ErrorCode.WalGap,
        `WAL segment ${name} is missing from the archive of "${catalog.source}": replay from base backup ${base.snapshot.id.slice(0, 8)} cannot pass it to reach ${describeTarget(target)}; nothing was written`,
        {
          hint: `${reachable(lastGood)}; \`lifeboat wal check --source ${catalog.source}\` lists every gap`,
        },
      );
    }
    files.push(name);
    lastGood = stored;
    if (segno < stopSeg) continue;
    if (reachesTarget(segno, stored, target, segSize, newest))
      return { base, timeline, files, lastSegment: name, target };
  }
}

function endsBefore(b: BaseBackup, target: RecoveryTarget, catalog: WalCatalog): boolean {
  if (target.kind === 'time') return new Date(b.stopTime).getTime() <= target.time.getTime();
  if (target.kind === 'lsn') return parseLsn(b.stopLsn) <= target.lsn;
  if (target.kind === 'name') {
    // A restore point recorded in a segment: only base backups that ended before that segment can replay to it.
    const holding = [...catalog.files.values()]
      .filter((f) => f.restorePoints?.includes(target.name))
      .map((f) => parseSegmentName(f.name, b.walSegmentSize)?.segno);
    const stopSeg = segmentOf(parseLsn(b.stopLsn) - 1n, b.walSegmentSize);
    return holding.length === 0 || holding.some((s) => s !== undefined && s >= stopSeg);
  }
  return true;
}

function reachesTarget(
  segno: bigint,
  stored: StoredFile,
  target: RecoveryTarget,
  segSize: number,
  newest: bigint,
): boolean {
  switch (target.kind) {
    case 'lsn':
      return segno >= segmentOf(target.lsn, segSize);
    case 'time': {
      const end = stored.summarized ? stored.lastXactEnd : stored.archivedAt;
      return end !== undefined && new Date(end).getTime() > target.time.getTime();
    }
    case 'name':
      return stored.restorePoints?.includes(target.name) ?? false;
    case 'latest':
      return segno === newest;
  }
}

function reachable(lastGood: StoredFile | undefined): string {
  if (!lastGood) return 'no segment after the base backup is archived';
  const when = lastGood.lastXactEnd ?? lastGood.archivedAt;
  return `the newest moment reachable is about ${when} (segment ${lastGood.name}): restore with --to-time up to there`;
}

/** A recovery target in words (`time …`, `lsn …`, `name …`, `end of WAL`). */
export function describeTarget(target: RecoveryTarget): string {
  switch (target.kind) {
    case 'time':
      return `time ${target.time.toISOString()}`;
    case 'lsn':
      return `LSN ${formatLsn(target.lsn)}`;
    case 'name':
      return `restore point "${target.name}"`;
    case 'latest':
      return 'the end of the archive';
  }
}

interface PathStep {
  tli: number;
  beginSeg: bigint;
}

/**
 * The timelines replay walks through, as PostgreSQL's recovery_target_timeline
 * = latest does: the newest timeline whose history file is archived (probing
 * base+1, base+2, …), which must descend from the base backup's timeline after
 * the base backup ended.
 */
function timelinePath(base: BaseBackup, histories: Map<number, TimelineSwitch[]>): PathStep[] {
  let newest = base.timeline;
  while (histories.has(newest + 1)) newest++;
  if (newest === base.timeline) return [{ tli: base.timeline, beginSeg: 0n }];
  const history = histories.get(newest)!;
  const steps: PathStep[] = [];
  let begin = 0n;
  for (const h of history) {
    steps.push({ tli: h.parent, beginSeg: segmentOf(begin, base.walSegmentSize) });
    begin = h.switchLsn;
  }
  steps.push({ tli: newest, beginSeg: segmentOf(begin, base.walSegmentSize) });
  const from = steps.findIndex((s) => s.tli === base.timeline);
  const leaves = history.find((h) => h.parent === base.timeline);
  if (from === -1 || (leaves && leaves.switchLsn < parseLsn(base.stopLsn))) {
    throw new LifeboatError(
      ErrorCode.WalGap,
      `timeline ${newest} does not continue from base backup ${base.snapshot.id.slice(0, 8)} (timeline ${base.timeline}, LSN ${base.stopLsn}); nothing was written`,
      {
        hint: 'restore from a base backup taken on that timeline',
      },
    );
  }
  return steps.slice(from);
}
