import { drillSource } from '../../drill/drill-source.js';
import { walFetchCommand } from '../../sources/postgres/pitr/wal-fetch-command.js';
import { stateDir as resolveStateDir } from '../../state/state-dir.js';
import { jobSources, nothingToDo, skippedAsNotConnected, type JobRunContext } from './context.js';

/**
 * A restore drill per source (`drill: { within, sources }`), from `to` or the
 * first copy target. The drill records its own history row and report.
 */
export async function drillStep(ctx: JobRunContext): Promise<void> {
  const drill = ctx.job.drill!;
  const from = ctx.job.to ?? ctx.job.copy_to?.[0] ?? Object.keys(ctx.loaded.config.repositories ?? {})[0];
  if (!from) return nothingToDo(ctx, { step: 'drill' }, 'no repository is configured to drill from');
  const sources =
    drill.sources === 'all' || !drill.sources
      ? ctx.job.sources
        ? jobSources(ctx.loaded, ctx.job)
        : Object.keys(ctx.loaded.config.sources ?? {})
      : drill.sources;
  if (sources.length === 0)
    return nothingToDo(
      ctx,
      { step: 'drill', repository: from },
      'no source to drill: configure one under sources: or name it in drill.sources',
    );
  for (const source of sources) {
    const startedAt = new Date().toISOString();
    const started = Date.now();
    if (skippedAsNotConnected(ctx, { step: 'drill', source, repository: from })) continue;
    try {
      const drills = await drillSource(
        await ctx.open(from),
        {
          source,
          config: ctx.loaded.config.sources?.[source],
          within: drill.within,
          job: ctx.jobName,
          stateDir: resolveStateDir(ctx.loaded.config.state_dir),
          signal: ctx.signal,
          log: (l) => ctx.log(`${source}: ${l}`),
        },
        () => walFetchCommand({ config: ctx.loaded.file, repository: from, source }),
      );
      // A source with point-in-time recovery has two drills (the point in time, then its dumps): one row for both.
      const failed = drills.flatMap((d) => (d.report.verdict === 'PASS' ? [] : d.report.reasons));
      ctx.note({
        step: 'drill',
        source,
        repository: from,
        startedAt,
        durationMs: Date.now() - started,
        outcome: failed.length ? 'failed' : 'ok',
        ...(failed.length ? { error: failed.join('; ') } : {}),
        detail: { verdict: failed.length ? 'FAIL' : 'PASS' },
      });
    } catch (err) {
      ctx.record({
        step: 'drill',
        source,
        repository: from,
        startedAt,
        durationMs: Date.now() - started,
        outcome: 'failed',
        error: (err as Error).message,
      });
      if (ctx.signal.aborted) throw err;
    }
  }
}
