import { prune } from '../../pruner/prune.js';
import { summarisePrune } from '../../pruner/summary.js';
import { forEachMaintainedRepository, timedStep, type JobRunContext } from './context.js';

/** Reclaim data no snapshot needs; a sweep deferred by a busy repository is not a failure (the next run finishes it). */
export async function pruneStep(ctx: JobRunContext): Promise<void> {
  await forEachMaintainedRepository(ctx, 'prune', async (repository) => {
    await timedStep(ctx, { step: 'prune', repository }, async () => {
      const summary = summarisePrune(await prune(await ctx.open(repository)));
      return { detail: summary as unknown as Record<string, unknown> };
    });
  });
}
