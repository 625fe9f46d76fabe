import { forget } from '../../retention/forget.js';
import { describePolicy } from '../../retention/policy.js';
import { stateDir as resolveStateDir } from '../../state/state-dir.js';
import { jobSources, nothingToDo, skippedAsNotConnected, timedStep, type JobRunContext } from './context.js';
import { retentionFor } from './retention.js';

/**
 * Retention per source: in `to` with its own policy (or the job's keep_last,
 * for unscheduled jobs), and in each `copy_to` repository with that
 * repository's own policy, over what the job copies there (its sources, or
 * every source when it names none). A repository without a policy, or without
 * snapshots to judge, is recorded as `nothing_to_do` with the reason.
 */
export async function forgetStep(ctx: JobRunContext): Promise<void> {
  const targets = [...(ctx.job.to ? [ctx.job.to] : []), ...(ctx.job.copy_to ?? [])];
  if (targets.length === 0) {
    nothingToDo(ctx, { step: 'forget' }, 'the job has no repository (`to` or `copy_to`) to apply retention to');
    return;
  }
  // A job that only copies, naming no source, copies every source: retention applies to all of them.
  const sources = ctx.job.sources || ctx.job.to ? jobSources(ctx.loaded, ctx.job) : [undefined];
  for (const repository of targets) {
    const policy = retentionFor(ctx, repository);
    if (!policy) {
      if (repository === ctx.job.to) {
        ctx.record({
          step: 'forget',
          repository,
          startedAt: new Date().toISOString(),
          durationMs: 0,
          outcome: 'failed',
          error: `repository "${repository}" has no retention policy and the job no keep_last`,
        });
      } else {
        nothingToDo(
          ctx,
          { step: 'forget', repository },
          `copy target "${repository}" has no retention policy: it keeps every copy (set repositories.${repository}.retention)`,
        );
      }
      continue;
    }
    if (skippedAsNotConnected(ctx, { step: 'forget', repository })) continue;
    if (sources.length === 0) {
      nothingToDo(ctx, { step: 'forget', repository }, 'the job names no source');
      continue;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'forget', source, repository }, async () => {
        const repo = await ctx.open(repository);
        const result = await forget(repo, {
          policy,
          source,
          stateDir: resolveStateDir(ctx.loaded.config.state_dir),
          signal: ctx.signal,
        });
        const considered = result.plan.reduce((n, g) => n + g.decisions.length, 0);
        const detail = {
          policy: describePolicy(policy),
          considered,
          kept: considered - result.removed.length,
          removed: result.removed.map((r) => r.snapshot),
          audit: result.audit ?? null,
        };
        if (considered === 0)
          return {
            outcome: 'nothing_to_do',
            error: `${repository} holds no snapshot${source ? ` of "${source}"` : ''} to apply retention to`,
            detail,
          };
        return { detail };
      });
    }
  }
}
