import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { RestoreProgress } from '../../restorer/restore.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatBytes, formatDuration } from '../../util/format.js';
import { ProgressBar } from '../progress-bar.js';
import { findSnapshot } from '../snapshot-ref.js';
import { optionalConfig, requireChosenRepository } from '../configured.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import { sourceMetadata } from '../../sources/metadata.js';
import { escapeName } from '../../util/escape-name.js';

interface Flags {
  target?: string;
  include: string[];
  exclude: string[];
  dryRun?: boolean;
  host?: string;
  toDatabase?: string;
  database?: string;
  toFile?: string;
  volume?: string;
  toVolume?: string;
  identity?: string;
  force?: boolean;
  source?: string;
  toTime?: string;
  toLsn?: string;
  toName?: string;
  pitr?: boolean;
  verify?: boolean;
  keepArchiving?: boolean;
  smoke?: boolean;
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
    .option('--source <name>', 'with "latest": newest snapshot of this source')
    .option(
      '--database <name>',
      'postgres/mysql snapshots of a whole server: the database to restore (into its own name, or --to-database)',
    )
    .option('--to-database <name>', 'database sources: restore into this database (created if absent)')
    .option('--to-file <path>', 'sqlite, redis and command sources: write the database or stream to this file')
    .option('--volume <name>', 'docker snapshots of several volumes: the volume to restore')
    .option(
      '--to-volume <name>',
      'docker sources: restore into this volume (created with the recorded driver, options and labels when absent; an existing one needs --force)',
    )
    .option(
      '--to-time <time>',
      "a point in time, with its zone ('2026-12-06 12:00:00Z'): sqlite sources with `continuous` (with --to-file): the last transaction committed at or before it; postgres sources with `pitr:` (with --target, implies --pitr): recover to it",
    )
    .option(
      '--no-smoke',
      "with --to-time (or `latest` of a continuous sqlite source): do not run the source's smoke command on the restored file",
    )
    .option('--identity <file>', 'age identity file, for sources sealed with seal_to')
    .option(
      '--force',
      "replace an existing database, file or volume's contents, or restore into a non-empty directory (source snapshots)",
    )
    .option('--dry-run', 'print what would be restored and write nothing')
    .option(
      '--pitr',
      'postgres sources with `pitr:`: restore a base backup and replay the archived WAL (to its end unless --to-* says where)',
    )
    .option('--to-lsn <lsn>', 'with --pitr (implied): recover to this WAL position, e.g. 0/3000060')
    .option('--to-name <name>', 'with --pitr (implied): recover to this restore point (pg_create_restore_point)')
    .option(
      '--verify',
      'with --pitr: start a throwaway server on the restored directory and check that recovery reached the target',
    )
    .option(
      '--keep-archiving',
      "with --pitr: keep the base backup's archive settings (the restored server will become the new primary); by default it does not archive",
    )
    .action(
      action(async (ctx: CommandContext, ref: string, flags: Flags) => {
        requireChosenRepository(ctx.global, 'restore', 'reads its snapshot from one repository');
        if (wantsPitr(ctx, flags)) return (await import('./pitr-restore.js')).restorePitr(ctx, ref, flags);
        return withRepository(ctx, async (repo) => {
          const started = Date.now();
          if (usesStream(ctx, ref, flags))
            return (await import('./restore-point.js')).restoreFromStream(ctx, repo, flags, started);
          // Loaded once the key is derived: scrypt's transient memory and this code's do not add up in the peak.
          const { restore } = await import('../../restorer/restore.js');
          await repo.prepareRead();
          const snapshot = await findSnapshot(repo, ref, { host: flags.host, source: flags.source }, (w) =>
            ctx.out.warn(w),
          );
          if (needsSourceRestore(snapshot, flags)) return restoreFromSource(ctx, repo, snapshot, flags, started);
          if (!flags.target)
            throw new LifeboatError(ErrorCode.Usage, 'restore needs --target DIR', {
              hint: 'restore never writes outside the target directory',
            });
          const progress: RestoreProgress = { filesDone: 0, bytesDone: 0, totalFiles: 0, totalBytes: 0 };
          const bar = new ProgressBar(
            () => ({
              label: 'restore',
              files: progress.filesDone,
              bytes: progress.bytesDone,
              totalFiles: progress.totalFiles,
              totalBytes: progress.totalBytes,
            }),
            ctx.out.options.progress && !flags.dryRun,
            ctx.out.json ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed }) : undefined,
          ).start();
          let result;
          try {
            result = await restore(repo, snapshot, {
              target: flags.target!,
              include: flags.include,
              exclude: flags.exclude,
              dryRun: flags.dryRun,
              progress,
              signal: ctx.signal,
            });
          } finally {
            bar.stop();
          }
          const { plan } = result;
          const planned = {
            dirs: plan.dirs.length,
            files: plan.files.length,
            symlinks: plan.symlinks.length,
            hardlinks: plan.hardlinks.length,
            bytes: plan.bytes,
          };
          ctx.out.emit({
            type: 'summary',
            snapshot: snapshot.id,
            target: result.target,
            dryRun: Boolean(flags.dryRun),
            planned,
            restored: { files: result.files, bytes: result.bytes },
            errors: result.errors,
            durationMs: Date.now() - started,
          });
          if (flags.dryRun) {
            for (const e of [...plan.dirs, ...plan.files, ...plan.symlinks, ...plan.hardlinks].sort((a, b) =>
              a.path < b.path ? -1 : 1,
            ))
              ctx.out.info(`would restore ${e.node.type.padEnd(8)} ${escapeName(e.path)}`);
            ctx.out.result(
              `dry run: ${planned.files} files (${formatBytes(plan.bytes)}), ${planned.dirs} dirs, ${planned.symlinks} symlinks, ${planned.hardlinks} hardlinks into ${result.target}; nothing written`,
            );
          } else {
            const verified = result.errors.length ? '' : "; every file's content hash verified";
            ctx.out.result(
              `restored ${result.files} files (${formatBytes(result.bytes)}) from ${snapshot.id.slice(0, 8)} into ${result.target} in ${formatDuration(Date.now() - started)}${verified}`,
            );
          }
          for (const e of result.errors)
            process.stderr.write(`error: ${escapeName(e.path)}: ${escapeName(e.message)}\n`);
          if (result.errors.length) {
            if (!ctx.out.json)
              process.stderr.write(
                `error: ${result.errors.length} entr${result.errors.length === 1 ? 'y' : 'ies'} could not be restored\n`,
              );
            return ExitCode.Failure;
          }
          return ExitCode.Success;
        });
      }),
    );
}

/**
 * A PostgreSQL point-in-time restore: asked with --pitr, --to-lsn or --to-name, or with --to-time
 * for a postgres source (or, with no configured source to tell, into a --target directory rather
 * than a --to-file).
 */
function wantsPitr(ctx: CommandContext, flags: Flags): boolean {
  if (flags.pitr || flags.toLsn !== undefined || flags.toName !== undefined) return true;
  if (flags.toTime === undefined) return false;
  const source = flags.source ? optionalConfig(ctx.global)?.config.sources?.[flags.source] : undefined;
  if (source) return source.type === 'postgres';
  return flags.toFile === undefined && flags.target !== undefined;
}

/** A restore from a continuous stream: asked with --to-time, or `latest` of a sqlite source configured with `continuous`. */
function usesStream(ctx: CommandContext, ref: string, flags: Flags): boolean {
  if (flags.toTime !== undefined) {
    if (ref !== 'latest')
      throw new LifeboatError(
        ErrorCode.Usage,
        '--to-time restores from a continuous stream: give "latest" as the snapshot',
        { hint: `lifeboat restore latest --source NAME --to-file PATH --to-time '…'` },
      );
    return true;
  }
  if (ref !== 'latest' || !flags.source) return false;
  const source = optionalConfig(ctx.global)?.config.sources?.[flags.source];
  return source?.type === 'sqlite' && Boolean(source.continuous);
}

/**
 * Source snapshots other than plain files go through their driver (pg_restore,
 * placing an RDB, unsealing); a plain files snapshot restores like any path
 * backup, with --include/--exclude and --dry-run.
 */
function needsSourceRestore(snapshot: SnapshotEntry, flags: Flags): boolean {
  const meta = sourceMetadata(snapshot);
  if (!meta) {
    if (flags.database || flags.toDatabase || flags.toFile || flags.identity || flags.volume || flags.toVolume)
      throw new LifeboatError(
        ErrorCode.Usage,
        `snapshot ${snapshot.id.slice(0, 8)} is a path backup; restore it with --target DIR`,
      );
    return false;
  }
  return meta.source.type !== 'files' || Boolean(meta.record.sealed) || Boolean(flags.force);
}

async function restoreFromSource(
  ctx: CommandContext,
  repo: Repository,
  snapshot: SnapshotEntry,
  flags: Flags,
  started: number,
): Promise<number> {
  if (flags.dryRun || flags.include.length || flags.exclude.length) {
    throw new LifeboatError(ErrorCode.Usage, '--dry-run, --include and --exclude apply to files snapshots only', {
      hint: 'a database restores whole',
    });
  }
  const meta = sourceMetadata(snapshot)!;
  const config = optionalConfig(ctx.global)?.config.sources?.[meta.source.name];
  // Source drivers (database clients) load only when a source snapshot is restored.
  const { restoreSource } = await import('../../sources/run-source.js');
  const result = await restoreSource(repo, snapshot, {
    config,
    target: flags.target,
    toDatabase: flags.toDatabase,
    database: flags.database,
    toFile: flags.toFile,
    volume: flags.volume,
    toVolume: flags.toVolume,
    identity: flags.identity,
    force: flags.force,
    signal: ctx.signal,
    log: (l) => ctx.out.verbose(escapeName(l)),
  });
  const failed = result.checks.filter((c) => !c.ok);
  ctx.out.emit({
    type: 'summary',
    snapshot: snapshot.id,
    source: meta.source.name,
    sourceType: result.type,
    location: result.restored.location,
    checks: result.checks,
    ok: failed.length === 0,
    durationMs: Date.now() - started,
  });
  ctx.out.result(
    `restored ${meta.source.type} source "${meta.source.name}" from ${snapshot.id.slice(0, 8)} to ${result.restored.location} in ${formatDuration(Date.now() - started)}`,
  );
  for (const c of result.checks)
    ctx.out.info(
      `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.field}${c.ok ? '' : `: recorded ${JSON.stringify(c.expected)}, restored ${JSON.stringify(c.actual)}`}`,
    );
  if (failed.length) {
    ctx.out.warn(
      `the restored copy differs from what was recorded at backup time in: ${failed.map((c) => c.field).join(', ')}`,
    );
    return ExitCode.Failure;
  }
  return ExitCode.Success;
}
