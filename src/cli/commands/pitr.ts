import path from 'node:path';
import type { Command } from 'commander';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { stateDir } from '../../state/state-dir.js';
import { takeBaseBackup } from '../../sources/postgres/pitr/base-backup.js';
import { fetchWal, pushWal } from '../../sources/postgres/pitr/wal-archive.js';
import { spoolWal } from '../../sources/postgres/pitr/spool.js';
import { drainSpool } from '../../sources/postgres/pitr/spool-drain.js';
import { spoolDirFor } from '../../sources/postgres/pitr/spool-dir.js';
import { loadCatalog } from '../../sources/postgres/pitr/catalog.js';
import { walGaps } from '../../sources/postgres/pitr/wal-check.js';
import { pruneWal } from '../../sources/postgres/pitr/wal-prune.js';
import { loadHistories } from '../../sources/postgres/pitr/restore-pitr.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { optionalConfig, requireChosenRepository, requireConfig } from '../configured.js';
import { formatBytes, formatDuration } from '../../util/format.js';
import { archiveCommandLine } from '../archive-command.js';

type PostgresConfig = SourceConfigOf<'postgres'>;

/** The configured postgres source of that name, which must have `pitr:` when `needPitr`. */
export function pitrSource(ctx: CommandContext, name: string, command: string, needPitr = true): PostgresConfig {
  const source = requireConfig(ctx.global, command).config.sources?.[name];
  if (!source)
    throw new LifeboatError(ErrorCode.Usage, `no source "${name}" in the config`, {
      hint: 'check --source against `sources:` in lifeboat.yaml',
    });
  if (source.type !== 'postgres')
    throw new LifeboatError(
      ErrorCode.Usage,
      `source "${name}" is a ${source.type} source; ${command} works on postgres sources`,
    );
  if (needPitr && !source.pitr)
    throw new LifeboatError(ErrorCode.Config, `source "${name}" has no \`pitr:\` settings`, {
      hint: 'add `pitr: { wal: archive }` (or stream) to the source; see docs/sources/postgres.md',
    });
  return source;
}

function requireSource(flags: { source?: string }, command: string): string {
  if (!flags.source)
    throw new LifeboatError(ErrorCode.Usage, `${command} needs --source NAME`, {
      hint: 'the postgres source (with `pitr:`) in lifeboat.yaml',
    });
  return flags.source;
}

export function registerBaseBackup(program: Command, action: ActionFactory): void {
  program
    .command('base-backup')
    .description('take a PostgreSQL base backup (pg_basebackup) of a source with `pitr:` into the repository')
    .requiredOption('--source <name>', 'the postgres source')
    .option('--tag <tag>', 'add a tag (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action(
      action(async (ctx: CommandContext, flags: { source?: string; tag: string[] }) => {
        const name = requireSource(flags, 'base-backup');
        const config = pitrSource(ctx, name, 'base-backup');
        requireChosenRepository(ctx.global, 'base-backup', 'writes into one repository');
        return withRepository(ctx, async (repo) => {
          const started = Date.now();
          const { snapshot, record } = await takeBaseBackup(repo, name, config, {
            signal: ctx.signal,
            log: (l) => ctx.out.info(l),
            tags: flags.tag,
          });
          ctx.out.emit({
            type: 'summary',
            snapshot: snapshot.id,
            ...record,
            added: snapshot.summary,
            durationMs: Date.now() - started,
          });
          const added = snapshot.summary.addedStoredBytes;
          ctx.out.result(
            `base backup ${snapshot.id.slice(0, 8)} of "${name}": ${formatBytes(record.tarBytes)} (${added !== undefined ? `${formatBytes(added)} new in the repository` : 'stored'}), LSN ${record.startLsn} .. ${record.stopLsn} on timeline ${record.timeline}, in ${formatDuration(Date.now() - started)}`,
          );
          return ExitCode.Success;
        });
      }),
    );
}

export function registerWalPush(program: Command, action: ActionFactory): void {
  program
    .command('wal-push')
    .description(
      "archive one WAL file (archive_command = 'lifeboat wal-push --source NAME %p'); exit 0 only once it is durable",
    )
    .argument('[path]', 'the WAL file (%p)')
    .requiredOption('--source <name>', 'the postgres source')
    .option(
      '--async',
      'only spool it durably on this host (fsync) and return; the daemon or `lifeboat wal drain` stores it in the repository',
    )
    .option(
      '--print-archive-command',
      'print the archive_command line for async archiving through lifeboat-wal-spool (no Node process per segment) and exit',
    )
    .action(
      action(
        async (
          ctx: CommandContext,
          file: string | undefined,
          flags: { source?: string; async?: boolean; printArchiveCommand?: boolean },
        ) => {
          const name = requireSource(flags, 'wal-push');
          const config = pitrSource(ctx, name, 'wal-push');
          const spoolDir = () =>
            spoolDirFor(name, config.pitr!.spool_dir, stateDir(optionalConfig(ctx.global)?.config.state_dir));
          if (flags.printArchiveCommand) {
            const line = archiveCommandLine(spoolDir());
            ctx.out.emit({ type: 'summary', archiveCommand: line, spoolDir: spoolDir() });
            ctx.out.result(line);
            return ExitCode.Success;
          }
          if (file === undefined)
            throw new LifeboatError(ErrorCode.Usage, 'wal-push needs the WAL file to archive', {
              hint: "archive_command passes it as %p: archive_command = 'lifeboat wal-push --source NAME %p'",
            });
          if (flags.async) {
            const dir = spoolDir();
            const how = await spoolWal(dir, file);
            ctx.out.emit({ type: 'summary', file: path.basename(file), spooled: how });
            ctx.out.result(`${path.basename(file)}: ${how} in ${dir}`);
            return ExitCode.Success;
          }
          requireChosenRepository(ctx.global, 'wal-push', 'writes into one repository');
          return withRepository(ctx, async (repo) => {
            const result = await pushWal(repo, name, [{ file }], { binDir: config.bin_dir, signal: ctx.signal });
            ctx.out.emit({
              type: 'summary',
              file: path.basename(file),
              stored: result.stored.map((f) => f.name),
              alreadyArchived: result.alreadyArchived,
              snapshot: result.snapshot?.id,
            });
            ctx.out.result(
              result.stored.length
                ? `${path.basename(file)}: archived in ${result.snapshot!.id.slice(0, 8)}`
                : `${path.basename(file)}: already archived with the same content`,
            );
            return ExitCode.Success;
          });
        },
      ),
    );
}

export function registerWalFetch(program: Command, action: ActionFactory): void {
  program
    .command('wal-fetch')
    .description(
      "fetch one archived WAL file (restore_command = 'lifeboat wal-fetch --source NAME %f %p'); exit 1 when it is not archived",
    )
    .argument('<name>', 'the WAL file name (%f)')
    .argument('<path>', 'where to write it (%p)')
    .requiredOption('--source <name>', 'the postgres source')
    .action(
      action(async (ctx: CommandContext, walName: string, dest: string, flags: { source?: string }) => {
        const name = requireSource(flags, 'wal-fetch');
        return withRepository(ctx, async (repo) => {
          const result = await fetchWal(repo, name, walName, dest);
          ctx.out.emit({ type: 'summary', file: walName, found: result.found, size: result.size });
          // Not found is an answer PostgreSQL expects (it probes for history files and the end of the archive): exit 1, one line.
          if (!result.found) {
            ctx.out.warn(`${walName} is not in the archive of "${name}"`);
            return ExitCode.Failure;
          }
          ctx.out.result(`${walName}: ${formatBytes(result.size!)} written to ${dest}`);
          return ExitCode.Success;
        });
      }),
    );
}

export function registerWal(program: Command, action: ActionFactory): void {
  const wal = program
    .command('wal')
    .description('the WAL archive of a postgres source with `pitr:`: check, drain, prune');
  wal
    .command('check')
    .description('list archived WAL per timeline and report every gap after the oldest base backup (exit 1 on a gap)')
    .requiredOption('--source <name>', 'the postgres source')
    .action(
      action(async (ctx: CommandContext, flags: { source?: string }) => {
        const name = requireSource(flags, 'wal check');
        return withRepository(ctx, async (repo) => {
          await repo.prepareRead();
          const catalog = await loadCatalog(repo, name);
          const report = walGaps(catalog, await loadHistories(repo, catalog));
          ctx.out.emit({ type: 'summary', source: name, ...report });
          for (const t of report.timelines)
            ctx.out.info(`timeline ${t.timeline}: ${t.segments} segments, ${t.first ?? '-'} .. ${t.last ?? '-'}`);
          for (const g of report.gaps)
            ctx.out.result(
              `gap: ${g.missing.length} segment(s) missing on timeline ${g.timeline}: ${g.missing[0]}${g.missing.length > 1 ? ` .. ${g.missing[g.missing.length - 1]}` : ''}`,
            );
          if (report.bases === 0) ctx.out.warn(`"${name}" has no base backup: its WAL cannot be replayed`);
          ctx.out.result(
            report.gaps.length
              ? `GAPS FOUND in the WAL archive of "${name}"`
              : `no gaps: ${report.files} WAL files, ${report.bases} base backups${report.newestArchivedAt ? `, newest archived ${report.newestArchivedAt}` : ''}`,
          );
          return report.gaps.length || report.bases === 0 ? ExitCode.Failure : ExitCode.Success;
        });
      }),
    );
  wal
    .command('drain')
    .description(
      'store the WAL spooled by `wal-push --async` in the repository now (`lifeboat serve` drains it every few seconds)',
    )
    .requiredOption('--source <name>', 'the postgres source')
    .action(
      action(async (ctx: CommandContext, flags: { source?: string }) => {
        const name = requireSource(flags, 'wal drain');
        const config = pitrSource(ctx, name, 'wal drain');
        requireChosenRepository(ctx.global, 'wal drain', 'writes into one repository');
        const dir = spoolDirFor(name, config.pitr!.spool_dir, stateDir(optionalConfig(ctx.global)?.config.state_dir));
        return withRepository(ctx, async (repo) => {
          let stored = 0;
          let already = 0;
          for (;;) {
            const r = await drainSpool(repo, name, dir, { signal: ctx.signal, binDir: config.bin_dir });
            stored += r.stored.length;
            already += r.alreadyArchived.length;
            if (r.left === 0) break;
          }
          ctx.out.emit({ type: 'summary', source: name, stored, alreadyArchived: already, spool: dir });
          ctx.out.result(
            stored + already
              ? `${stored} WAL file(s) stored from ${dir}${already ? `, ${already} already archived` : ''}`
              : `nothing spooled in ${dir}`,
          );
          return ExitCode.Success;
        });
      }),
    );
  wal
    .command('prune')
    .description(
      'remove WAL older than wal_retention that no kept base backup needs (run `lifeboat prune` afterwards to free space)',
    )
    .requiredOption('--source <name>', 'the postgres source')
    .option('--dry-run', 'say what would be removed and remove nothing')
    .action(
      action(async (ctx: CommandContext, flags: { source?: string; dryRun?: boolean }) => {
        const name = requireSource(flags, 'wal prune');
        const config = pitrSource(ctx, name, 'wal prune');
        requireChosenRepository(ctx.global, 'wal prune', 'removes from one repository');
        return withRepository(ctx, async (repo) => {
          const result = await pruneWal(repo, name, {
            retention: config.pitr!.wal_retention ?? '7d',
            dryRun: flags.dryRun,
          });
          ctx.out.emit({ type: 'summary', source: name, ...result });
          ctx.out.result(
            `${flags.dryRun ? 'would remove' : 'removed'} ${result.removed.length} WAL snapshot(s) (${result.removedFiles} files); kept ${result.kept} (${result.neededByBase} needed by a kept base backup)`,
          );
          return ExitCode.Success;
        });
      }),
    );
}
