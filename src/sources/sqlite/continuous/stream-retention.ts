import type { Repository } from '../../../repository/repository.js';
import { listStream } from './stream-listing.js';
import { generationStartMs } from './stream-names.js';

/**
 * Remove what no point at or after `cutoffMs` needs: a restore to such a
 * point starts from the newest full copy at or before it, so the newest full
 * copy at or before the cutoff (the *anchor*) and everything after it stay;
 * older generations, older full copies and segments that end at or before the
 * anchor go. Segments are removed before full copies, and a full copy's
 * manifest before its parts, so an interrupted removal never leaves a copy
 * that looks whole but is not. Returns how many objects were removed.
 */
export async function enforceStreamRetention(repo: Repository, stream: string, cutoffMs: number): Promise<number> {
  const { doomed } = await planStreamRetention(repo, stream, cutoffMs);
  if (doomed.length > 0) repo.requireAdmin('stream retention');
  for (const name of doomed) await repo.storage.remove(name);
  return doomed.length;
}

export interface StreamRetentionPlan {
  /** Objects no point at or after the cutoff needs, in the order they are removed. */
  doomed: string[];
  /** The full copy every kept point starts from (undefined: nothing is old enough to remove). */
  anchorMs?: number;
  kept: number;
}

/** What `enforceStreamRetention` would remove, without removing anything (`forget --dry-run` shows it). */
export async function planStreamRetention(
  repo: Repository,
  stream: string,
  cutoffMs: number,
): Promise<StreamRetentionPlan> {
  const { generations, objects } = await listStream(repo, stream);
  let anchorGen = -1;
  let anchor: { index: number; frame: number; ms: number; name: string } | undefined;
  generations.forEach((g, i) => {
    if (generationStartMs(g.name) > cutoffMs) return;
    for (const b of g.bases)
      if (b.ms <= cutoffMs) {
        anchorGen = i;
        anchor = b;
      }
  });
  if (!anchor) return { doomed: [], kept: objects };
  const doomed: string[] = [];
  for (const g of generations.slice(0, anchorGen)) {
    doomed.push(...g.segments.map((s) => s.name));
    for (const b of g.bases) doomed.push(b.name, ...partsOf(g.objects, b.name));
  }
  const g = generations[anchorGen]!;
  const a = anchor;
  doomed.push(
    ...g.segments.filter((s) => s.index < a.index || (s.index === a.index && s.last <= a.frame)).map((s) => s.name),
  );
  for (const b of g.bases) if (b.ms < a.ms && b.name !== a.name) doomed.push(b.name, ...partsOf(g.objects, b.name));
  return { doomed, anchorMs: a.ms, kept: objects - doomed.length };
}

function partsOf(objects: Array<{ name: string }>, manifest: string): string[] {
  return objects.filter((o) => o.name.startsWith(manifest + '.')).map((o) => o.name);
}
