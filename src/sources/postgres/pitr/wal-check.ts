import type { WalCatalog } from './catalog.js';
import {
  DEFAULT_SEGMENT_SIZE,
  parseLsn,
  parseSegmentName,
  segmentName,
  segmentOf,
  type TimelineSwitch,
} from './wal-names.js';

/** A missing stretch of archived WAL. */
export interface WalGap {
  timeline: number;
  missing: string[];
}

/** Whether the archived WAL of a source is continuous from each base backup, and its gaps. */
export interface WalCheckReport {
  files: number;
  bases: number;
  timelines: Array<{ timeline: number; segments: number; first?: string; last?: string }>;
  gaps: WalGap[];
  newestArchivedAt?: string;
}

const MAX_LISTED = 1000;

/**
 * Gaps in the archived WAL, per timeline: every segment missing between where
 * the timeline's WAL is first needed (the oldest base backup on it, or where
 * the timeline began) and its newest archived segment. WAL before the oldest
 * base backup is not needed, so missing pieces there are not gaps.
 */
export function walGaps(catalog: WalCatalog, histories: Map<number, TimelineSwitch[]>): WalCheckReport {
  const segSize = catalog.bases[0]?.walSegmentSize ?? DEFAULT_SEGMENT_SIZE;
  const byTimeline = new Map<number, bigint[]>();
  let newestArchivedAt: string | undefined;
  for (const [name, f] of catalog.files) {
    if (!newestArchivedAt || f.archivedAt > newestArchivedAt) newestArchivedAt = f.archivedAt;
    const p = parseSegmentName(name, segSize);
    if (!p) continue;
    byTimeline.set(p.timeline, [...(byTimeline.get(p.timeline) ?? []), p.segno]);
  }
  const timelines: WalCheckReport['timelines'] = [];
  const gaps: WalGap[] = [];
  for (const [tli, segs] of [...byTimeline].sort((a, b) => a[0] - b[0])) {
    segs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const first = segs[0]!;
    const last = segs[segs.length - 1]!;
    timelines.push({
      timeline: tli,
      segments: segs.length,
      first: segmentName(tli, first, segSize),
      last: segmentName(tli, last, segSize),
    });
    const baseStarts = catalog.bases
      .filter((b) => b.timeline === tli)
      .map((b) => segmentOf(parseLsn(b.startLsn), segSize));
    const switchLsn = histories.get(tli)?.at(-1)?.switchLsn;
    const candidates = [...baseStarts, ...(switchLsn !== undefined ? [segmentOf(switchLsn, segSize)] : [])];
    // Without a base backup or a known beginning on this timeline, its first archived segment is where it starts for us.
    const from = candidates.length ? candidates.reduce((a, b) => (a < b ? a : b)) : first;
    const present = new Set(segs);
    const missing: string[] = [];
    for (let s = from; s <= last && missing.length < MAX_LISTED; s++)
      if (!present.has(s)) missing.push(segmentName(tli, s, segSize));
    if (missing.length) gaps.push({ timeline: tli, missing });
  }
  return { files: catalog.files.size, bases: catalog.bases.length, timelines, gaps, newestArchivedAt };
}
