import { check } from '../../checker/check.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { forEachMaintainedRepository, timedStep, type JobRunContext } from './context.js';

/** The structural check of each repository the job maintains; an error finding fails the step. */
export async function checkStep(ctx: JobRunContext): Promise<void> {
  await forEachMaintainedRepository(ctx, 'check', async (repository) => {
    await timedStep(ctx, { step: 'check', repository }, async () => {
      const report = await check(await ctx.open(repository));
      const errors = report.findings.filter((f) => f.severity === 'error');
      if (errors.length)
        throw new LifeboatError(ErrorCode.Corrupt, `check found ${errors.length} error(s): ${errors[0]!.message}`);
      return { detail: { snapshots: report.snapshots, packs: report.packs, warnings: report.findings.length } };
    });
  });
}
