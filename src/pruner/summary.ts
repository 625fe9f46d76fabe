import type { PackRef } from './plan.js';
import type { PruneResult } from './prune.js';

/** A prune result as counts and bytes: the `--json` summary document and the text report. */
export interface PruneSummary {
  dryRun: boolean;
  snapshots: number;
  marked: {
    record?: string;
    unusedPacks: number;
    unusedBytes: number;
    repackPacks: number;
    /** Unused bytes inside the packs to repack (reclaimed once the old packs are swept). */
    repackUnusedBytes: number;
    unindexedPacks: number;
    unindexedBytes: number;
    alreadyMarkedPacks: number;
  };
  repacked: { newPacks: number; bytesWritten: number; skipped: Array<{ pack: string; reason: string }> };
  swept?: {
    deletedPacks: number;
    deletedBytes: number;
    keptPacks: number;
    ripeRecords: number;
    waitingRecords: number;
    nextRipe?: string;
    indexConsolidated: boolean;
    indexFilesWritten: number;
    indexFilesRemoved: number;
    /** Temporary files of interrupted writes removed (dry run: found); absent when the storage has none (S3). */
    temporaries?: { count: number; bytes: number };
    /** Packs to delete that are still under their Object Lock retention: marked again for a later sweep. */
    retainedPacks: number;
    retainedBytes: number;
  };
  deferred?: { code: string; message: string };
  unreadableRecords: string[];
  /** Forget requests of append keys: applied (forgotten), declined with the reason, or deferred; absent when none was pending. */
  forgetRequests?: {
    applied: Array<{ snapshot: string; source: string; host: string; rule: string }>;
    declined: Array<{ snapshot: string; source: string; host: string; why: string }>;
    done: string[];
    unreadable: string[];
    audit?: string;
    deferred?: { code: string; message: string };
  };
}

const bytes = (list: PackRef[]) => list.reduce((n, p) => n + p.size, 0);

/** The figures `lifeboat prune` prints for a result: packs and bytes marked, repacked, deleted. */
export function summarisePrune(r: PruneResult): PruneSummary {
  const plan = r.mark.plan;
  const s = r.sweep;
  return {
    dryRun: r.dryRun,
    snapshots: r.mark.snapshots,
    marked: {
      ...(r.mark.record ? { record: r.mark.record } : {}),
      unusedPacks: plan.unused.length,
      unusedBytes: bytes(plan.unused),
      repackPacks: plan.repack.length,
      repackUnusedBytes: plan.repack.reduce((n, p) => n + p.unusedBytes, 0),
      unindexedPacks: plan.unindexed.length,
      unindexedBytes: bytes(plan.unindexed),
      alreadyMarkedPacks: plan.alreadyMarked,
    },
    repacked: {
      newPacks: r.mark.repacked?.packs.length ?? 0,
      bytesWritten: r.mark.repacked?.bytesWritten ?? 0,
      skipped: r.mark.repacked?.skipped ?? [],
    },
    ...(s
      ? {
          swept: {
            deletedPacks: s.plan.delete.length - s.retained.length,
            deletedBytes: bytes(s.plan.delete) - bytes(s.retained),
            keptPacks: s.plan.kept.length,
            ripeRecords: s.ripeRecords,
            waitingRecords: s.waitingRecords,
            ...(s.nextRipe ? { nextRipe: s.nextRipe } : {}),
            indexConsolidated: s.consolidated,
            indexFilesWritten: s.indexFilesWritten,
            indexFilesRemoved: s.indexFilesRemoved,
            ...(s.temporaries ? { temporaries: s.temporaries } : {}),
            retainedPacks: s.retained.length,
            retainedBytes: bytes(s.retained),
          },
        }
      : {}),
    ...(r.deferred ? { deferred: { code: r.deferred.code, message: r.deferred.message } } : {}),
    unreadableRecords: r.mark.unreadableRecords,
    ...(r.requests ? { forgetRequests: summariseRequests(r.requests) } : {}),
  };
}

function summariseRequests(q: NonNullable<PruneResult['requests']>): NonNullable<PruneSummary['forgetRequests']> {
  if ('deferred' in q)
    return {
      applied: [],
      declined: [],
      done: [],
      unreadable: [],
      deferred: { code: q.deferred.code, message: q.deferred.message },
    };
  return {
    applied: q.applied.map(({ snapshot, source, host, rule }) => ({ snapshot, source, host, rule })),
    declined: q.declined.map(({ snapshot, source, host, why }) => ({ snapshot, source, host, why })),
    done: q.done,
    unreadable: q.unreadable,
    ...(q.audit ? { audit: q.audit } : {}),
  };
}
