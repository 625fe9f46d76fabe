import { parseDuration } from '../config/duration.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { FUTURE_TOLERANCE_MS } from '../retention/plan.js';
import { resolveSnapshotRef, sortByTime, type SnapshotEntry } from '../repository/format/index.js';

export interface SnapshotChoice {
  snapshot: SnapshotEntry;
  /** `given` (an id or `latest`), `random` (within the window, by the seed) or `latest` (no window given). */
  selectedBy: 'given' | 'random' | 'latest';
  /** How many snapshots of the source were eligible. */
  candidates: number;
  seed: number;
  within?: string;
}

/** mulberry32: a tiny seeded generator, so `--seed N` picks the same snapshot again. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Which snapshot of a source a drill restores: the one given, else one chosen
 * at random (reproducibly, by the seed) among those within the window, else
 * the newest. A drill of random older snapshots also proves the ones nobody
 * looks at.
 */
export function chooseSnapshot(
  all: SnapshotEntry[],
  source: string,
  options: { snapshot?: string; within?: string; seed: number; now: Date },
): SnapshotChoice {
  const ofSource = sortByTime(all.filter((s) => s.source === source));
  if (options.snapshot) {
    const snapshot = resolveSnapshotRef(ofSource, options.snapshot, { source });
    return { snapshot, selectedBy: 'given', candidates: ofSource.length, seed: options.seed };
  }
  if (ofSource.length === 0)
    throw new LifeboatError(ErrorCode.NotFound, `no snapshot of source "${source}" in this repository`, {
      hint: `back it up first: lifeboat backup --source ${source}`,
    });
  // A snapshot dated in the future (a host with a fast clock) is not "the newest": it is used only when nothing else is there.
  const notFuture = ofSource.filter((s) => Date.parse(s.time) <= options.now.getTime() + FUTURE_TOLERANCE_MS);
  const usable = notFuture.length ? notFuture : ofSource;
  if (!options.within)
    return {
      snapshot: usable[usable.length - 1]!,
      selectedBy: 'latest',
      candidates: usable.length,
      seed: options.seed,
    };
  let seconds: number;
  try {
    seconds = parseDuration(options.within);
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, (err as Error).message);
  }
  const since = options.now.getTime() - seconds * 1000;
  const eligible = notFuture.filter((s) => Date.parse(s.time) >= since);
  if (eligible.length === 0) {
    throw new LifeboatError(ErrorCode.NotFound, `no snapshot of source "${source}" within ${options.within}`, {
      hint: `the newest is from ${ofSource[ofSource.length - 1]!.time}; widen --within or back up now`,
    });
  }
  const pick = eligible[Math.floor(seededRandom(options.seed)() * eligible.length)]!;
  return {
    snapshot: pick,
    selectedBy: 'random',
    candidates: eligible.length,
    seed: options.seed,
    within: options.within,
  };
}
