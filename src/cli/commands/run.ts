import type { Command } from 'commander';
import { Dispatcher } from '../../alerts/dispatch.js';
import { notifiersFromConfig } from '../../alerts/notifiers/from-config.js';
import { runEndEvent } from '../../alerts/run-event.js';
import { redactorFor } from '../../daemon/redact.js';
import { ExitCode } from '../../errors/index.js';
import { newRunId, runJob, type JobResult, type JobStepResult } from '../../jobs/run-job.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, lockWaitMs, type CommandContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';

export function registerRun(program: Command, action: ActionFactory): void {
  program
    .command('run')
    .description('run one configured job end to end: its backups, copies, retention and checks')
    .argument('<job>', 'a job from lifeboat.yaml')
    .option('--reason <text>', 'why this run was started (recorded with its snapshots)')
    .action(
      action(async (ctx: CommandContext, jobName: string, flags: { reason?: string }) => {
        const loaded = requireConfig(ctx.global, 'run');
        // The ping notifiers hear this run as they hear the daemon's, so cron users get them too.
        const redact = redactorFor(loaded.config);
        const pings = new Dispatcher(notifiersFromConfig(loaded.config).filter((n) => n.type === 'ping'), (l) => ctx.out.warn(l), redact);
        const runId = newRunId();
        if (loaded.config.jobs?.[jobName]) pings.run({ phase: 'start', job: jobName, runId });
        let result: JobResult;
        try {
          result = await runJob(loaded, jobName, {
            runId,
            signal: ctx.signal,
            reason: flags.reason,
            cacheRoot: cacheRoot(ctx.global),
            ...(ctx.global.retryLock ? { lockWaitMs: lockWaitMs(ctx.global) } : {}),
            log: (l) => ctx.out.verbose(l),
            warn: (l) => ctx.out.warn(l),
            onStep: (s) => {
              ctx.out.emit({ type: 'step', job: jobName, ...s });
              ctx.out.info(describeStep(s));
            },
          });
        } catch (err) {
          pings.run(runEndEvent(jobName, runId, { error: (err as Error).message }));
          await pings.settle();
          throw err;
        }
        pings.run(runEndEvent(jobName, runId, { result }));
        await pings.settle();
        ctx.out.emit({ type: 'summary', job: jobName, runId: result.runId, outcome: result.outcome, durationMs: result.durationMs, steps: result.steps });
        const failed = result.steps.filter((s) => s.outcome === 'failed').length;
        const skipped = result.steps.filter((s) => s.outcome === 'skipped').length;
        ctx.out.result(
          `job ${jobName}: ${result.outcome}${failed ? `, ${failed} step(s) failed` : ''}${skipped ? `, ${skipped} step(s) skipped` : ''} in ${formatDuration(result.durationMs)} (run ${result.runId})`,
        );
        if (result.outcome === 'ok') return ExitCode.Success;
        if (result.outcome === 'partial') return ExitCode.Partial;
        return ExitCode.Failure;
      }),
    );
}

export function describeStep(s: JobStepResult): string {
  const what = [s.step, s.source && `source ${s.source}`, s.repository && `→ ${s.repository}`].filter(Boolean).join(' ');
  const mark = s.outcome === 'ok' ? 'ok     ' : s.outcome === 'skipped' ? 'skipped' : s.outcome === 'partial' ? 'partial' : 'FAILED ';
  const data = s.bytes !== undefined ? `, ${formatBytes(s.bytes)} (${formatBytes(s.addedBytes ?? 0)} new)` : '';
  const snap = s.snapshot ? `, snapshot ${s.snapshot.slice(0, 8)}` : '';
  return `  ${mark} ${what} (${formatDuration(s.durationMs)}${data}${snap})${s.error ? `: ${s.error}` : ''}`;
}
