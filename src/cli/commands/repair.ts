/**
 * `repair index` rebuilds the index from the pack headers; `repair snapshots`
 * writes snapshots without the data that is lost. Both take the exclusive lock
 * and, with --dry-run, only say what they would do.
 *
 * @module
 */

import type { Command } from 'commander';
import { ExitCode } from '../../errors/index.js';
import { repairIndex } from '../../repairer/repair-index.js';
import { repairSnapshots } from '../../repairer/repair-snapshots.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { ProgressBar } from '../progress-bar.js';
import { findSnapshot } from '../snapshot-ref.js';

export function registerRepair(program: Command, action: ActionFactory): void {
  const repair = program
    .command('repair')
    .description('rebuild a lost or damaged index; rewrite snapshots without lost data');

  repair
    .command('index')
    .description('rebuild the index from the headers of every pack in storage, then remove the index files it replaces')
    .option('--dry-run', 'read the pack headers and report; write and remove nothing')
    .action(
      action(async (ctx: CommandContext, flags: { dryRun?: boolean }) =>
        withRepository(ctx, async (repo) => {
          const progress = { packsRead: 0, packsTotal: 0 };
          const bar = new ProgressBar(
            () => ({ label: 'repair index', files: progress.packsRead, bytes: 0, totalFiles: progress.packsTotal }),
            ctx.out.options.progress,
            ctx.out.json ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed }) : undefined,
          ).start();
          let report;
          try {
            report = await repairIndex(repo, { dryRun: flags.dryRun, onProgress: (p) => Object.assign(progress, p) });
          } finally {
            bar.stop();
          }
          ctx.out.emit({ type: 'summary', ...report });
          for (const f of report.unreadableIndexFiles)
            ctx.out.info(`replaced unreadable index file ${f.name}: ${f.message}`);
          for (const p of report.fromOldIndex)
            ctx.out.warn(
              `pack ${p.slice(0, 12)}: its header is damaged; kept what a readable index file said about it`,
            );
          for (const p of report.unreadable) ctx.out.warn(`pack ${p.pack.slice(0, 12)} left out: ${p.message}`);
          const verb = report.dryRun ? 'would index' : 'indexed';
          ctx.out.result(
            `${verb} ${report.packsIndexed} of ${report.packsListed} packs (${report.blobs} blobs)` +
              (report.dryRun
                ? `; would replace ${report.removed.length} index file(s); nothing written`
                : ` in ${report.written.length} new index file(s); removed ${report.removed.length} old one(s)`),
          );
          if (report.unreadable.length) {
            ctx.out.warn(
              `${report.unreadable.length} pack(s) could not be indexed; run \`lifeboat check\` to see which snapshots lose data, and \`lifeboat repair snapshots\``,
            );
            return ExitCode.Failure;
          }
          return ExitCode.Success;
        }),
      ),
    );

  repair
    .command('snapshots')
    .description(
      'write each snapshot that references lost data again without it (tagged "repaired"); the originals stay unless --forget',
    )
    .argument('[snapshot...]', 'snapshot ids or prefixes (default: every snapshot)')
    .option('--forget', 'remove each original once its repaired snapshot is saved')
    .option('--dry-run', 'report what would be dropped; write and remove nothing')
    .action(
      action(async (ctx: CommandContext, refs: string[], flags: { forget?: boolean; dryRun?: boolean }) =>
        withRepository(ctx, async (repo) => {
          const ids = refs.length
            ? await Promise.all(refs.map(async (r) => (await findSnapshot(repo, r)).id))
            : undefined;
          const report = await repairSnapshots(repo, { ids, forget: flags.forget, dryRun: flags.dryRun });
          ctx.out.emit({ type: 'summary', ...report });
          for (const r of report.repaired) {
            const now = report.dryRun
              ? 'would be written again'
              : `written again as ${r.repaired!.slice(0, 8)}${r.forgotten ? '; original removed' : '; original kept (remove it with --forget)'}`;
            ctx.out.result(
              `snapshot ${r.original.slice(0, 8)}: ${r.dropped.length} entr${r.dropped.length === 1 ? 'y' : 'ies'} dropped, ${now}`,
            );
            for (const d of r.dropped.slice(0, 50))
              ctx.out.info(`  dropped ${d.type.padEnd(4)} ${d.path}: ${d.reason}`);
            if (r.dropped.length > 50) ctx.out.info(`  and ${r.dropped.length - 50} more (see --json)`);
          }
          for (const u of report.unrepairable)
            ctx.out.warn(`snapshot ${u.snapshot.slice(0, 8)} cannot be repaired: ${u.reason}`);
          if (report.repaired.length === 0 && report.unrepairable.length === 0)
            ctx.out.result(
              `all ${report.examined} snapshot(s) examined reference only data that is present; nothing to repair`,
            );
          return report.unrepairable.length ? ExitCode.Failure : ExitCode.Success;
        }),
      ),
    );
}
