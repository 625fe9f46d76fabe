import type { Command } from 'commander';
import { complianceReport } from '../../compliance/report.js';
import { ExitCode } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, type CommandContext } from '../context.js';

export function registerCompliance(program: Command, action: ActionFactory): void {
  program
    .command('compliance')
    .description(
      '3-2-1-1-0 and policy report per source: copies, media, offsite, immutable, errors, encryption, retention, drills; exit 1 on any failure',
    )
    .action(
      action(async (ctx: CommandContext) => {
        const loaded = requireConfig(ctx.global, 'compliance');
        const report = await complianceReport(loaded, { cacheRoot: cacheRoot(ctx.global) });
        const { checks } = report;
        const failed = checks.filter((c) => c.status === 'fail');
        ctx.out.emit({ type: 'compliance', ...report });
        const width = Math.max(6, ...checks.map((c) => c.source.length));
        ctx.out.info(`${'source'.padEnd(width)}  ${'check'.padEnd(10)}  result  reason`);
        for (const c of checks)
          ctx.out.info(
            `${c.source.padEnd(width)}  ${c.check.padEnd(10)}  ${c.status === 'pass' ? 'PASS  ' : 'FAIL  '}  ${c.reason}`,
          );
        ctx.out.result(
          failed.length
            ? `NOT COMPLIANT: ${failed.length} of ${checks.length} checks failed`
            : `COMPLIANT: all ${checks.length} checks passed`,
        );
        return failed.length ? ExitCode.Failure : ExitCode.Success;
      }),
    );
}
