import type { SnapshotEntry } from '../../repository/format/index.js';
import { planRetention } from '../../retention/plan.js';
import { policyFromConfig, type RetentionPolicy } from '../../retention/policy.js';
import type { JobRunContext } from './context.js';

/** The missing snapshots that the target's retention keeps once they are there alongside what it holds. */
export function keptByRetention(
  missing: readonly SnapshotEntry[],
  held: readonly SnapshotEntry[],
  policy: RetentionPolicy,
): SnapshotEntry[] {
  const kept = new Set(
    planRetention([...held, ...missing], policy, new Date())
      .flatMap((g) => g.decisions)
      .filter((d) => d.action === 'keep')
      .map((d) => d.snapshot.id),
  );
  return missing.filter((s) => kept.has(s.id));
}

/** The policy `forget` applies in a repository of the job: the job's keep_last for `to`, else the repository's retention. */
export function retentionFor(ctx: JobRunContext, repository: string): RetentionPolicy | undefined {
  if (repository === ctx.job.to && ctx.job.keep_last) return { keepLast: ctx.job.keep_last };
  const configured = ctx.loaded.config.repositories?.[repository]?.retention;
  return configured ? policyFromConfig(configured) : undefined;
}
