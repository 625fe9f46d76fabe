import type { Command } from 'commander';
import { ExitCode } from '../../errors/index.js';
import { keptWarning, ledgerDirs } from '../../leftovers/at-start.js';
import { sweepLeftovers } from '../../leftovers/sweep.js';
import { sourceRemovers } from '../../sources/leftover-removers.js';
import type { ActionFactory } from '../action.js';
import { optionalConfig } from '../configured.js';
import type { CommandContext } from '../context.js';

export function registerCleanup(program: Command, action: ActionFactory): void {
  program
    .command('cleanup')
    .description(
      'remove what killed Lifeboat processes left behind: scratch databases, server-side snapshots, throwaway servers, run directories; exit 1 if something could not be removed',
    )
    .option('--dry-run', 'only report what would be removed')
    .action(
      action(async (ctx: CommandContext, flags: { dryRun?: boolean }) => {
        const config = optionalConfig(ctx.global)?.config;
        const report = await sweepLeftovers({
          ledgers: ledgerDirs(config),
          sources: config?.sources,
          removers: sourceRemovers,
          dryRun: flags.dryRun === true,
          log: (l) => ctx.out.verbose(l),
        });
        ctx.out.emit({ type: 'summary', ...report });
        const verb = report.dryRun ? 'would remove' : 'removed';
        for (const r of report.removed)
          ctx.out.info(`${verb} ${r.what} (left by process ${r.owner.pid}${r.source ? `, source ${r.source}` : ''})`);
        for (const w of report.waiting) ctx.out.info(`not yet: ${w.what}: ${w.why}`);
        for (const k of report.kept) ctx.out.warn(keptWarning(k));
        for (const u of report.unreadable) ctx.out.warn(`${u.file} is not a ledger record (${u.why}); left as it is`);
        const others = [
          report.live && `${report.live} in use by running processes`,
          report.foreign && `${report.foreign} made on another host`,
        ].filter(Boolean);
        ctx.out.result(
          `${verb} ${report.removed.length} leftover(s)${report.kept.length ? `, ${report.kept.length} could not be removed` : ''}${others.length ? `; left alone: ${others.join(', ')}` : ''}`,
        );
        return report.kept.length ? ExitCode.Failure : ExitCode.Success;
      }),
    );
}
