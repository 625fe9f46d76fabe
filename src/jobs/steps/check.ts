import { check } from '../../checker/check.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { checkStreams } from '../../sources/sqlite/continuous/stream-check.js';
import { forEachMaintainedRepository, timedStep, type JobRunContext } from './context.js';

/** The structural check of each repository the job maintains, continuous streams included; an error finding fails the step. */
export async function checkStep(ctx: JobRunContext): Promise<void> {
  await forEachMaintainedRepository(ctx, 'check', async (repository) => {
    await timedStep(ctx, { step: 'check', repository }, async () => {
      const repo = await ctx.open(repository);
      const report = await check(repo);
      const streams = await checkStreams(repo, ctx.loaded.config);
      report.findings.push(...streams.findings);
      const errors = report.findings.filter((f) => f.severity === 'error');
      if (errors.length)
        throw new LifeboatError(ErrorCode.Corrupt, `check found ${errors.length} error(s): ${errors[0]!.message}`);
      return {
        detail: {
          snapshots: report.snapshots,
          packs: report.packs,
          streams: streams.streams,
          warnings: report.findings.length,
        },
      };
    });
  });
}
