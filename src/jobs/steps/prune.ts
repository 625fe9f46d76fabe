import { prune } from '../../pruner/prune.js';
import { summarisePrune } from '../../pruner/summary.js';
import {
  maintainedRepositories,
  nothingToDo,
  skippedAsNotConnected,
  timedStep,
  type JobRunContext,
} from './context.js';

/** Reclaim data no snapshot needs; a sweep deferred by a busy repository is not a failure (the next run finishes it). */
export async function pruneStep(ctx: JobRunContext): Promise<void> {
  const repositories = maintainedRepositories(ctx.job);
  if (repositories.length === 0)
    return nothingToDo(ctx, { step: 'prune' }, 'the job has no repository (`to` or `copy_to`) to prune');
  for (const repository of repositories) {
    if (skippedAsNotConnected(ctx, { step: 'prune', repository })) continue;
    await timedStep(ctx, { step: 'prune', repository }, async () => {
      const summary = summarisePrune(await prune(await ctx.open(repository)));
      return { detail: summary as unknown as Record<string, unknown> };
    });
  }
}
