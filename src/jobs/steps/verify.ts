import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { verify } from '../../verify/verify.js';
import { forEachMaintainedRepository, jobSources, nothingToDo, timedStep, type JobRunContext } from './context.js';

/**
 * Restore the newest snapshot of each source to scratch and compare with what
 * was recorded: the job's sources, or for a copy job naming none, every source
 * the repository holds.
 */
export async function verifyStep(ctx: JobRunContext): Promise<void> {
  await forEachMaintainedRepository(ctx, 'verify', async (repository) => {
    let sources = jobSources(ctx.loaded, ctx.job);
    if (!ctx.job.sources && !ctx.job.to) {
      try {
        const listed = (await (await ctx.open(repository)).listSnapshots()).snapshots;
        sources = [...new Set(listed.map((s) => s.source).filter((s): s is string => Boolean(s)))];
      } catch (err) {
        ctx.record({
          step: 'verify',
          repository,
          startedAt: new Date().toISOString(),
          durationMs: 0,
          outcome: 'failed',
          error: (err as Error).message,
        });
        if (ctx.signal.aborted) throw err;
        return;
      }
    }
    if (sources.length === 0) {
      nothingToDo(
        ctx,
        { step: 'verify', repository },
        ctx.job.sources || ctx.job.to
          ? 'the job names no source to verify'
          : `${repository} holds no snapshot of a configured source to verify`,
      );
      return;
    }
    for (const source of sources) {
      await timedStep(ctx, { step: 'verify', source, repository }, async () => {
        const repo = await ctx.open(repository);
        const newest = (await repo.listSnapshots()).snapshots.filter((s) => s.source === source).at(-1);
        if (!newest)
          throw new LifeboatError(ErrorCode.NotFound, `no snapshot of "${source}" in ${repository} to verify`);
        const result = await verify(repo, newest, {
          config: ctx.loaded.config.sources?.[source],
          signal: ctx.signal,
          log: (l) => ctx.log(`${source}: ${l}`),
        });
        const failed = result.checks.filter((c) => !c.ok);
        if (!result.ok)
          throw new LifeboatError(
            ErrorCode.Failure,
            `verification of ${newest.id.slice(0, 8)} failed: ${failed.map((c) => c.name).join(', ')}`,
          );
        return { snapshot: newest.id, detail: { checks: result.checks.length } };
      });
    }
  });
}
