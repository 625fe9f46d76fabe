import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { withBackupRepository, type CommandContext } from '../context.js';
import { report, snapshotSummary, withProgress } from './backup-report.js';
import type { BackupFlags } from './backup-flags.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerBackup(program: Command, action: ActionFactory): void {
  program
    .command('backup')
    .description('back up paths, or configured sources (--source NAME…): one snapshot per source')
    .argument('[paths...]', 'files and directories to back up')
    .option(
      '--source <name>',
      'a source from lifeboat.yaml (repeatable, or comma-separated; "all" for every source)',
      collect,
      [],
    )
    .option(
      '--job <name>',
      "run a job's backups only: its sources into its `to` repository, without copies, `then` steps or drill",
    )
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect, [])
    .option('--reason <text>', 'why this backup was made (shown by `snapshots`)')
    .option(
      '--exclude <pattern>',
      'skip matching paths: a name glob (*.tmp) or an absolute path glob (/var/cache/**); repeatable',
      collect,
      [],
    )
    .option('--host <name>', "record this host name instead of the machine's")
    .option('--force', 'read every file again instead of trusting the parent snapshot')
    .action(
      action(async (ctx: CommandContext, paths: string[], flags: BackupFlags) => {
        if (flags.job !== undefined) {
          if (paths.length || flags.source.length)
            throw new LifeboatError(ErrorCode.Usage, 'give --job alone, without paths or --source');
          if (flags.exclude.length || flags.host || flags.force)
            throw new LifeboatError(ErrorCode.Usage, '--exclude, --host and --force do not apply to --job', {
              hint: "a job's sources are backed up as configured",
            });
          return (await import('./backup-configured.js')).backupJob(ctx, flags.job, flags);
        }
        if (flags.source.length) {
          if (paths.length) throw new LifeboatError(ErrorCode.Usage, 'give either paths or --source, not both');
          return (await import('./backup-configured.js')).backupSources(ctx, flags);
        }
        if (paths.length === 0) {
          throw new LifeboatError(ErrorCode.Usage, 'nothing to back up', {
            hint: 'lifeboat backup PATH…, or lifeboat backup --source NAME for a source in lifeboat.yaml',
          });
        }
        return withBackupRepository(ctx, async (repo) => {
          // Loaded once the key is derived: scrypt's transient memory and this code's do not add up in the peak.
          const { backup } = await import('../../archiver/backup.js');
          const result = await withProgress(ctx, 'backup', (progress) =>
            backup(repo, {
              paths,
              tags: flags.tag,
              reason: flags.reason,
              excludes: flags.exclude,
              host: flags.host,
              force: flags.force,
              progress,
              estimate: ctx.out.options.progress,
              signal: ctx.signal,
            }),
          );
          report(ctx, result);
          ctx.out.emit({ type: 'summary', ...snapshotSummary(result) });
          return result.errors.length ? ExitCode.Partial : ExitCode.Success;
        });
      }),
    );
}
