import type { Command } from 'commander';
import { backup } from '../../archiver/backup.js';
import { newBackupProgress } from '../../archiver/progress.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { ProgressBar } from '../progress-bar.js';

interface BackupFlags {
  tag: string[];
  reason?: string;
  exclude: string[];
  host?: string;
  force?: boolean;
  excludeFile?: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerBackup(program: Command, action: ActionFactory): void {
  program
    .command('backup')
    .description('back up files and directories into the repository')
    .argument('[paths...]', 'files and directories to back up')
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect, [])
    .option('--reason <text>', 'why this backup was made (shown by `snapshots`)')
    .option('--exclude <pattern>', 'skip matching paths: a name glob (*.tmp) or an absolute path glob (/var/cache/**); repeatable', collect, [])
    .option('--host <name>', 'record this host name instead of the machine\'s')
    .option('--force', 'read every file again instead of trusting the parent snapshot')
    .action(
      action(async (ctx: CommandContext, paths: string[], flags: BackupFlags) => {
        if (paths.length === 0) {
          throw new LifeboatError(ErrorCode.Usage, 'no paths to back up', { hint: 'lifeboat backup --repo REPO PATH… (configured sources arrive with lifeboat.yaml)' });
        }
        return withRepository(ctx, async (repo) => {
          const progress = newBackupProgress();
          const bar = new ProgressBar(
            () => ({ label: 'backup', files: progress.filesDone, bytes: progress.bytesDone, totalFiles: progress.totalFiles, totalBytes: progress.totalBytes }),
            ctx.out.options.progress,
            ctx.out.json ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed, addedBytes: progress.bytesAdded }) : undefined,
          ).start();
          let result;
          try {
            result = await backup(repo, {
              paths,
              tags: flags.tag,
              reason: flags.reason,
              excludes: flags.exclude,
              host: flags.host,
              force: flags.force,
              progress,
              estimate: ctx.out.options.progress,
              signal: ctx.signal,
            });
          } finally {
            bar.stop();
          }
          const { snapshot, errors } = result;
          const s = snapshot.summary;
          ctx.out.emit({ type: 'summary', snapshot: { id: snapshot.id, time: snapshot.time, host: snapshot.host, paths: snapshot.paths, tags: snapshot.tags, parent: snapshot.parent ?? null }, summary: s, errors, repairedPacks: result.repairedPacks });
          for (const e of errors) ctx.out.warn(`could not read ${e.path}: ${e.message}`);
          if (result.repairedPacks) ctx.out.warn(`${result.repairedPacks} pack(s) named in the index were missing or damaged; their data was stored again`);
          ctx.out.info(
            `files: ${s.files} (${s.filesRead} read, ${s.files - s.filesRead} unchanged), dirs: ${s.dirs}\n` +
              `data: ${formatBytes(s.bytes)}, new: ${formatBytes(s.addedBytes)} (${formatBytes(s.addedStoredBytes)} stored)\n` +
              `duration: ${formatDuration(s.durationMs)}`,
          );
          ctx.out.result(`snapshot ${snapshot.id.slice(0, 8)} saved${errors.length ? ` (${errors.length} input(s) could not be read)` : ''}`);
          return errors.length ? ExitCode.Partial : ExitCode.Success;
        });
      }),
    );
}
