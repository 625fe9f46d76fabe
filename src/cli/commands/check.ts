import type { Command } from 'commander';
import { check } from '../../checker/check.js';
import { ExitCode } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import type { CommandContext } from '../context.js';
import { forEachRepository } from '../each-repository.js';
import { formatBytes } from '../../util/format.js';
import { ProgressBar } from '../progress-bar.js';
import { parsePercent } from '../parse.js';
import { escapeName } from '../../util/escape-name.js';
import { checkStreams } from '../../sources/sqlite/continuous/stream-check.js';
import { optionalConfig } from '../configured.js';

export function registerCheck(program: Command, action: ActionFactory): void {
  program
    .command('check')
    .description(
      'verify the repository structure and its continuous SQLite streams; with --read-data also decrypt and authenticate the data',
    )
    .option('--read-data [percent]', 'read all packs, or a random share of them (e.g. --read-data=10%)')
    .action(
      action(async (ctx: CommandContext, flags: { readData?: string | boolean }) =>
        forEachRepository(ctx, async (ctx, repo) => {
          const percent = parsePercent(flags.readData);
          const progress = { packsRead: 0, packsTotal: 0, bytesRead: 0 };
          const bar = new ProgressBar(
            () => ({ label: 'check', files: progress.packsRead, bytes: progress.bytesRead }),
            ctx.out.options.progress && percent !== undefined,
          ).start();
          let report;
          try {
            report = await check(repo, { readDataPercent: percent, onProgress: (p) => Object.assign(progress, p) });
          } finally {
            bar.stop();
          }
          // Continuous SQLite streams: whole full copies and no gap in structure; every object authenticated with --read-data.
          const streams = await checkStreams(repo, optionalConfig(ctx.global)?.config, {
            readData: percent !== undefined,
          });
          report.findings.push(...streams.findings);
          report.streams = streams.streams;
          report.streamObjects = streams.objects;
          report.ok = !report.findings.some((f) => f.severity === 'error');
          ctx.out.emit({ type: 'summary', ...report });
          for (const f of report.findings) {
            // Findings quote file names from the snapshots: escaped for the terminal (--json keeps them exact).
            ctx.out.result(`${f.severity}: ${escapeName(f.message)}`);
            for (const a of f.affected ?? [])
              ctx.out.info(
                `  snapshot ${a.snapshot.slice(0, 8)}: ${a.paths.slice(0, 10).map(escapeName).join(', ')}${a.paths.length > 10 ? ` and ${a.paths.length - 10} more` : ''}`,
              );
            if (f.hint) ctx.out.info(`  hint: ${f.hint}`);
          }
          const read =
            percent === undefined
              ? 'structure only'
              : `${report.packsRead} packs read (${formatBytes(report.bytesRead)})`;
          ctx.out.result(
            `${report.ok ? 'no errors found' : 'ERRORS FOUND'}: ${report.snapshots} snapshots, ${report.packs} packs, ${report.blobs} blobs${streams.streams ? `, ${streams.streams} continuous streams (${streams.objects} objects)` : ''}; ${read}`,
          );
          return report.ok ? ExitCode.Success : ExitCode.Failure;
        }),
      ),
    );
}
