import type { Command } from 'commander';
import { Dispatcher } from '../../alerts/dispatch.js';
import { notifiersFromConfig } from '../../alerts/notifiers/from-config.js';
import { runEndEvent } from '../../alerts/run-event.js';
import { redactorFor } from '../../daemon/redact.js';
import { ExitCode } from '../../errors/index.js';
import { newRunId, runJob, type JobResult, type JobStepResult, type RunJobOptions } from '../../jobs/run-job.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, lockWaitMs, type CommandContext } from '../context.js';
import { formatBytes, formatDuration } from '../../util/format.js';

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
        const pings = new Dispatcher(
          notifiersFromConfig(loaded.config).filter((n) => n.type === 'ping'),
          (l) => ctx.out.warn(l),
          redact,
        );
        const runId = newRunId();
        if (loaded.config.jobs?.[jobName]) pings.run({ phase: 'start', job: jobName, runId });
        let result: JobResult;
        try {
          result = await runJob(loaded, jobName, {
            runId,
            reason: flags.reason,
            ...jobRunFromCli(ctx, jobName),
          });
        } catch (err) {
          pings.run(runEndEvent(jobName, runId, { error: (err as Error).message }));
          await pings.settle();
          throw err;
        }
        pings.run(runEndEvent(jobName, runId, { result }));
        await pings.settle();
        ctx.out.emit({
          type: 'summary',
          job: jobName,
          runId: result.runId,
          outcome: result.outcome,
          durationMs: result.durationMs,
          steps: result.steps,
        });
        const failed = result.steps.filter((s) => s.outcome === 'failed').length;
        const skipped = result.steps.filter((s) => s.outcome === 'skipped').length;
        const idle = result.steps.filter((s) => s.outcome === 'nothing_to_do').length;
        ctx.out.result(
          `job ${jobName}: ${result.outcome}${failed ? `, ${failed} step(s) failed` : ''}${skipped ? `, ${skipped} step(s) skipped` : ''}${idle ? `, ${idle} step(s) had nothing to do` : ''} in ${formatDuration(result.durationMs)} (run ${result.runId})`,
        );
        if (result.outcome === 'ok') return ExitCode.Success;
        if (result.outcome === 'partial') return ExitCode.Partial;
        return ExitCode.Failure;
      }),
    );
}

const MARKS: Record<JobStepResult['outcome'], string> = {
  ok: 'ok',
  skipped: 'skipped',
  partial: 'partial',
  nothing_to_do: 'nothing to do',
  failed: 'FAILED',
};

/** What every job run started from the command line shares: Ctrl-C, the cache, the lock wait, and a line per step. */
export function jobRunFromCli(ctx: CommandContext, jobName: string): RunJobOptions {
  return {
    signal: ctx.signal,
    cacheRoot: cacheRoot(ctx.global),
    ...(ctx.global.retryLock ? { lockWaitMs: lockWaitMs(ctx.global) } : {}),
    log: (l) => ctx.out.verbose(l),
    warn: (l) => ctx.out.warn(l),
    onStep: (s) => {
      ctx.out.emit({ type: 'step', job: jobName, ...s });
      ctx.out.info(describeStep(s));
    },
  };
}

export function describeStep(s: JobStepResult): string {
  const what = [s.step, s.source && `source ${s.source}`, s.repository && `→ ${s.repository}`]
    .filter(Boolean)
    .join(' ');
  const did = [formatDuration(s.durationMs), ...stepFacts(s)].join(', ');
  return `  ${MARKS[s.outcome].padEnd(7)} ${what} (${did})${s.error ? `: ${s.error}` : ''}`;
}

/** What a step did, in words: snapshots copied and skipped, forgotten and kept, bytes. */
export function stepFacts(s: JobStepResult): string[] {
  const d = (s.detail ?? {}) as Record<string, unknown>;
  const n = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
  const facts: string[] = [];
  if (s.bytes !== undefined) facts.push(`${formatBytes(s.bytes)} (${formatBytes(s.addedBytes ?? 0)} new)`);
  if (s.snapshot) facts.push(`snapshot ${s.snapshot.slice(0, 8)}`);
  if (s.step === 'copy' && n('copied') !== undefined) {
    const outside = n('outsideRetention') ? `, ${n('outsideRetention')} outside its retention (not copied)` : '';
    facts.push(
      `${n('copied')} snapshot(s) copied from ${String(d.from)}, ${n('skipped')} already there${outside}, ${formatBytes(n('addedBytes') ?? 0)} new`,
    );
  }
  if (s.step === 'forget' && Array.isArray(d.removed))
    facts.push(`${d.removed.length} snapshot(s) forgotten, ${n('kept') ?? 0} kept (${String(d.policy)})`);
  if (s.step === 'prune' && typeof d.marked === 'object' && d.marked) {
    const marked = d.marked as { unusedPacks: number; unusedBytes: number };
    const swept = d.swept as { deletedPacks: number; deletedBytes: number } | undefined;
    facts.push(
      `${marked.unusedPacks} unused pack(s) marked (${formatBytes(marked.unusedBytes)}), ${swept ? `${swept.deletedPacks} deleted (${formatBytes(swept.deletedBytes)})` : 'none deleted yet'}`,
    );
  }
  if (s.step === 'check' && n('snapshots') !== undefined)
    facts.push(`${n('snapshots')} snapshot(s), ${n('packs')} pack(s), ${n('warnings')} warning(s)`);
  if (s.step === 'verify' && n('checks') !== undefined) facts.push(`${n('checks')} check(s) passed`);
  if (s.step === 'drill' && typeof d.verdict === 'string') facts.push(d.verdict);
  return facts;
}
