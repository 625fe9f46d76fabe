import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { newPruneProgress } from '../../pruner/options.js';
import { prune } from '../../pruner/prune.js';
import { summarisePrune, type PruneSummary } from '../../pruner/summary.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatBytes, formatTime } from '../../util/format.js';
import type { Output } from '../output.js';
import { ProgressBar } from '../progress-bar.js';

export function registerPrune(program: Command, action: ActionFactory): void {
  program
    .command('prune')
    .description(
      'reclaim space no snapshot needs: mark it now, delete it in a later run once the grace period has passed',
    )
    .option('--dry-run', 'print the plan; write, repack and delete nothing')
    .option(
      '--grace <duration>',
      'how long marked data waits before it is deleted (e.g. 24h, 7d; 0 deletes in this run)',
      '24h',
    )
    .option('--max-unused <percent>', 'repack packs with more than this share of unused data', '20')
    .action(
      action(async (ctx: CommandContext, flags: { dryRun?: boolean; grace: string; maxUnused: string }) => {
        const graceMs = parseGrace(flags.grace);
        const maxUnused = parseShare(flags.maxUnused);
        return withRepository(ctx, async (repo) => {
          const progress = newPruneProgress();
          const bar = new ProgressBar(
            () => ({
              label: `prune: ${progress.phase}${progress.phase === 'loading' ? ` (${progress.trees} trees)` : ` ${progress.packs}/${progress.packsTotal} packs`}`,
              files: progress.packs,
              bytes: progress.bytes,
            }),
            ctx.out.options.progress,
            ctx.out.json
              ? (s) =>
                  ctx.out.emit({
                    type: 'progress',
                    phase: progress.phase,
                    trees: progress.trees,
                    packs: s.files,
                    packsTotal: progress.packsTotal,
                    bytes: s.bytes,
                  })
              : undefined,
          ).start();
          let summary: PruneSummary;
          try {
            summary = summarisePrune(
              await prune(repo, { dryRun: flags.dryRun === true, graceMs, maxUnused, progress }),
            );
          } finally {
            bar.stop();
          }
          ctx.out.emit({ type: 'summary', ...summary });
          report(ctx.out, summary);
          return summary.deferred ? ExitCode.Locked : ExitCode.Success;
        });
      }),
    );
}

function report(out: Output, s: PruneSummary): void {
  const m = s.marked;
  for (const name of s.unreadableRecords) out.warn(`prune record ${name} is unreadable and was ignored`);
  reportRequests(out, s);
  for (const k of s.repacked.skipped)
    out.warn(`pack ${k.pack.slice(0, 12)} was not repacked: ${k.reason}; run \`lifeboat check --read-data\``);
  out.info(
    `${s.snapshots} snapshots; ${s.dryRun ? 'would mark' : 'marked'} ${m.unusedPacks} unused packs (${formatBytes(m.unusedBytes)}), ${m.repackPacks} packs to repack (${formatBytes(m.repackUnusedBytes)} unused in them), ` +
      `${m.unindexedPacks} unindexed packs (${formatBytes(m.unindexedBytes)})${m.alreadyMarkedPacks ? `; ${m.alreadyMarkedPacks} packs already marked` : ''}`,
  );
  if (s.repacked.newPacks > 0)
    out.info(`repacked into ${s.repacked.newPacks} new packs (${formatBytes(s.repacked.bytesWritten)} written)`);
  if (s.deferred) {
    out.result(`sweep deferred: ${s.deferred.message}; marked data is deleted by a later run`);
    return;
  }
  const w = s.swept!;
  if (w.keptPacks > 0) out.info(`${w.keptPacks} marked packs are needed again and stay`);
  if (w.temporaries?.count)
    out.info(
      `${s.dryRun ? 'would remove' : 'removed'} ${w.temporaries.count} temporary files of interrupted writes (${formatBytes(w.temporaries.bytes)})`,
    );
  if (w.indexConsolidated)
    out.info(
      `index ${s.dryRun ? 'would be ' : ''}consolidated${s.dryRun ? '' : `: ${w.indexFilesRemoved} files replaced by ${w.indexFilesWritten}`}`,
    );
  if (w.retainedPacks > 0)
    out.warn(
      `${w.retainedPacks} packs (${formatBytes(w.retainedBytes)}) are still under their Object Lock retention and were not deleted; they are out of the index and marked again, and a later prune deletes them once the retention ends`,
    );
  const waiting = w.waitingRecords
    ? `; ${w.waitingRecords} marks wait for the grace period (next at ${formatTime(w.nextRipe!)})`
    : '';
  out.result(
    `${s.dryRun ? 'would delete' : 'deleted'} ${w.deletedPacks} packs, ${formatBytes(w.deletedBytes)} ${s.dryRun ? 'to reclaim' : 'reclaimed'}${waiting}`,
  );
}

function reportRequests(out: Output, s: PruneSummary): void {
  const q = s.forgetRequests;
  if (!q) return;
  if (q.deferred) out.warn(`forget requests not applied: ${q.deferred.message}; a later prune applies them`);
  for (const a of q.applied)
    out.info(
      `${s.dryRun ? 'would forget' : 'forgot'} ${a.snapshot.slice(0, 8)} of "${a.source}" on ${a.host}: ${a.rule}`,
    );
  for (const d of q.declined)
    out.warn(`forget request for ${d.snapshot.slice(0, 8)} of "${d.source}" on ${d.host} declined: ${d.why}`);
  for (const name of q.unreadable)
    out.warn(
      `forget request ${name} cannot be authenticated (not sealed with this repository's key) and was not applied`,
    );
}

function parseGrace(text: string): number {
  if (/^\s*0\s*$/.test(text)) return 0;
  try {
    return parseDuration(text) * 1000;
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, (err as Error).message, {
      hint: '--grace takes a duration such as 24h or 7d, or 0',
    });
  }
}

function parseShare(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100))
    throw new LifeboatError(ErrorCode.Usage, `--max-unused takes a percentage from 0 to 100, got "${text}"`);
  return n / 100;
}
