import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { restore, type RestoreProgress } from '../../restorer/restore.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { ProgressBar } from '../progress-bar.js';
import { findSnapshot } from '../snapshot-ref.js';

interface Flags {
  target?: string;
  include: string[];
  exclude: string[];
  dryRun?: boolean;
  host?: string;
}

const collect = (v: string, p: string[]) => [...p, v];

export function registerRestore(program: Command, action: ActionFactory): void {
  program
    .command('restore')
    .description('restore a snapshot (or part of it) into a directory')
    .argument('<snapshot>', 'snapshot id, prefix or "latest"')
    .option('--target <dir>', 'directory to restore into (required)')
    .option('--include <pattern>', 'restore only matching paths (repeatable)', collect, [])
    .option('--exclude <pattern>', 'skip matching paths (repeatable)', collect, [])
    .option('--host <name>', 'with "latest": newest snapshot of this host')
    .option('--dry-run', 'print what would be restored and write nothing')
    .action(
      action(async (ctx: CommandContext, ref: string, flags: Flags) => {
        if (!flags.target) throw new LifeboatError(ErrorCode.Usage, 'restore needs --target DIR', { hint: 'restore never writes outside the target directory' });
        return withRepository(ctx, async (repo) => {
          const started = Date.now();
          await repo.prepareRead();
          const snapshot = await findSnapshot(repo, ref, { host: flags.host });
          const progress: RestoreProgress = { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
          const bar = new ProgressBar(
            () => ({ label: 'restore', files: progress.filesDone, bytes: progress.bytesDone, totalFiles: progress.totalFiles, totalBytes: progress.totalBytes }),
            ctx.out.options.progress && !flags.dryRun,
            ctx.out.json ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed }) : undefined,
          ).start();
          let result;
          try {
            result = await restore(repo, snapshot, { target: flags.target!, include: flags.include, exclude: flags.exclude, dryRun: flags.dryRun, progress, signal: ctx.signal });
          } finally {
            bar.stop();
          }
          const { plan } = result;
          const planned = { dirs: plan.dirs.length, files: plan.files.length, symlinks: plan.symlinks.length, hardlinks: plan.hardlinks.length, bytes: plan.bytes };
          ctx.out.emit({ type: 'summary', snapshot: snapshot.id, target: result.target, dryRun: Boolean(flags.dryRun), planned, restored: { files: result.files, bytes: result.bytes }, errors: result.errors, durationMs: Date.now() - started });
          if (flags.dryRun) {
            for (const e of [...plan.dirs, ...plan.files, ...plan.symlinks, ...plan.hardlinks].sort((a, b) => (a.path < b.path ? -1 : 1))) ctx.out.info(`would restore ${e.node.type.padEnd(8)} ${e.path}`);
            ctx.out.result(`dry run: ${planned.files} files (${formatBytes(plan.bytes)}), ${planned.dirs} dirs, ${planned.symlinks} symlinks, ${planned.hardlinks} hardlinks into ${result.target}; nothing written`);
          } else {
            const verified = result.errors.length ? '' : "; every file's content hash verified";
            ctx.out.result(`restored ${result.files} files (${formatBytes(result.bytes)}) from ${snapshot.id.slice(0, 8)} into ${result.target} in ${formatDuration(Date.now() - started)}${verified}`);
          }
          for (const e of result.errors) process.stderr.write(`error: ${e.path}: ${e.message}\n`);
          if (result.errors.length) {
            if (!ctx.out.json) process.stderr.write(`error: ${result.errors.length} entr${result.errors.length === 1 ? 'y' : 'ies'} could not be restored\n`);
            return ExitCode.Failure;
          }
          return ExitCode.Success;
        });
      }),
    );
}
