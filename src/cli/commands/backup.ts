import path from 'node:path';
import type { Command } from 'commander';
import { backup, type BackupResult } from '../../archiver/backup.js';
import { newBackupProgress, type BackupProgress } from '../../archiver/progress.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { LifeboatConfig } from '../../config/schema.js';
import type { Repository } from '../../repository/repository.js';
import { sweepAtStart } from '../../leftovers/at-start.js';
import { sourceRemovers } from '../../sources/leftover-removers.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { withBackupRepository, withRepository, type CommandContext } from '../context.js';
import { backupAndCheck } from '../../jobs/backup-and-check.js';
import { jobSources, runJob } from '../../jobs/run-job.js';
import { jobRunFromCli } from './run.js';
import { formatBytes, formatDuration } from '../../util/format.js';
import { ProgressBar } from '../progress-bar.js';

interface BackupFlags {
  tag: string[];
  reason?: string;
  exclude: string[];
  host?: string;
  force?: boolean;
  source: string[];
  job?: string;
}

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
          return backupJob(ctx, flags.job, flags);
        }
        if (flags.source.length) {
          if (paths.length) throw new LifeboatError(ErrorCode.Usage, 'give either paths or --source, not both');
          return backupSources(ctx, flags);
        }
        if (paths.length === 0) {
          throw new LifeboatError(ErrorCode.Usage, 'nothing to back up', {
            hint: 'lifeboat backup PATH…, or lifeboat backup --source NAME for a source in lifeboat.yaml',
          });
        }
        return withBackupRepository(ctx, async (repo) => {
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

/** Each named source into its own snapshot; a failing source does not stop the others. */
async function backupSources(ctx: CommandContext, flags: BackupFlags): Promise<number> {
  const loaded = requireConfig(ctx.global, 'backup --source');
  const { config } = loaded;
  // Hooks run in the config file's directory, like its relative paths.
  const configDir = path.dirname(loaded.file);
  const configured = config.sources ?? {};
  const names = flags.source
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const wanted = names.includes('all') ? Object.keys(configured) : [...new Set(names)];
  const unknown = wanted.filter((n) => !configured[n]);
  if (unknown.length) {
    throw new LifeboatError(
      ErrorCode.Usage,
      `no source named ${unknown.map((u) => `"${u}"`).join(', ')} in the config`,
      { hint: `configured: ${Object.keys(configured).join(', ') || 'none'}` },
    );
  }
  if (wanted.length === 0) throw new LifeboatError(ErrorCode.Usage, 'the config has no sources');
  await sweepAtStart(config, sourceRemovers, ctx.out);
  const outcomes: Array<Record<string, unknown>> = [];
  let code: number = ExitCode.Success;
  for (const [repository, names] of destinations(ctx, config, wanted)) {
    if (repository === null) {
      // Several repositories and no job says where these go: refuse them rather than guess.
      for (const name of names) {
        const e = new LifeboatError(
          ErrorCode.Usage,
          `no job sends source "${name}" to a repository (\`to:\`), and ${Object.keys(config.repositories ?? {}).length} are configured`,
          { hint: `pass --repo NAME, or add "${name}" to the sources of a job with \`to:\`` },
        );
        ctx.out.warn(`source "${name}" failed: ${e.message}\nhint: ${e.hint}`);
        outcomes.push({ source: name, type: configured[name]!.type, ok: false, error: e.toJSON() });
        ctx.out.emit({
          type: 'source',
          source: name,
          sourceType: configured[name]!.type,
          ok: false,
          error: e.toJSON(),
        });
        code = ExitCode.Failure;
      }
      continue;
    }
    const into = repository === undefined ? ctx : { ...ctx, global: { ...ctx.global, repo: repository } };
    if (repository !== undefined) ctx.out.info(`repository ${repository}:`);
    let c: number;
    try {
      c = await withRepository(into, (repo) =>
        backupEach(ctx, repo, repository, names, configured, flags, outcomes, configDir),
      );
    } catch (err) {
      // One repository that cannot be opened fails its sources, not those bound elsewhere.
      if (repository === undefined || ctx.signal.aborted) throw err;
      const e = err instanceof LifeboatError ? err : new LifeboatError(ErrorCode.Failure, (err as Error).message);
      ctx.out.warn(`repository "${repository}": ${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}`);
      for (const name of names) {
        outcomes.push({
          source: name,
          repositoryName: repository,
          type: configured[name]!.type,
          ok: false,
          error: e.toJSON(),
        });
        ctx.out.emit({
          type: 'source',
          source: name,
          repositoryName: repository,
          sourceType: configured[name]!.type,
          ok: false,
          error: e.toJSON(),
        });
      }
      c = ExitCode.Failure;
    }
    if (c === ExitCode.Failure || (c === ExitCode.Partial && code === ExitCode.Success)) code = c;
  }
  ctx.out.emit({ type: 'summary', sources: outcomes });
  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed) ctx.out.result(`${failed} of ${outcomes.length} source backup(s) failed`);
  return code;
}

/**
 * Where each source goes: the repository given (--repo, $LIFEBOAT_REPOSITORY)
 * or the only one configured (key undefined); with several configured, every
 * repository that a job naming the source backs it up to (`to:`), and null for
 * sources no job sends anywhere.
 */
function destinations(
  ctx: CommandContext,
  config: LifeboatConfig,
  wanted: string[],
): Map<string | undefined | null, string[]> {
  const repositories = Object.keys(config.repositories ?? {});
  if (ctx.global.repo || process.env.LIFEBOAT_REPOSITORY || repositories.length <= 1)
    return new Map([[undefined, wanted]]);
  const routes = new Map<string | null, string[]>();
  for (const name of wanted) {
    const to = new Set(
      Object.values(config.jobs ?? {})
        .filter((j) => j.to && (j.sources === 'all' || j.sources?.includes(name)))
        .map((j) => j.to!),
    );
    for (const repository of to.size ? [...to] : [null])
      routes.set(repository, [...(routes.get(repository) ?? []), name]);
  }
  return routes;
}

/** Back up the named sources into one repository; returns the exit code of this part. */
async function backupEach(
  ctx: CommandContext,
  repo: Repository,
  repository: string | undefined,
  names: string[],
  configured: NonNullable<LifeboatConfig['sources']>,
  flags: BackupFlags,
  outcomes: Array<Record<string, unknown>>,
  configDir: string,
): Promise<number> {
  let code: number = ExitCode.Success;
  const where = repository === undefined ? {} : { repositoryName: repository };
  for (const name of names) {
    if (ctx.signal.aborted) break;
    const source = configured[name]!;
    try {
      // A bad backup is reported at once, not at the next drill: what was just written reads back.
      const { backup: result, check } = await withProgress(ctx, name, (progress, stopProgress) =>
        backupAndCheck(repo, name, source, {
          tags: flags.tag,
          reason: flags.reason,
          host: flags.host,
          force: flags.force,
          progress,
          signal: ctx.signal,
          log: (l) => ctx.out.verbose(`${name}: ${l}`),
          hooks: {
            cwd: configDir,
            ...(repository === undefined ? {} : { repository }),
            onPhase: (phase) => {
              ctx.out.emit({ type: 'hook', source: name, ...where, ...phase });
              if (!phase.ok) ctx.out.warn(`source "${name}": ${phase.phase} hook ${phase.error}`);
              else ctx.out.info(`${name}: ${phase.phase} hook ok`);
            },
          },
          onSaved: (saved) => {
            stopProgress();
            ctx.out.info(`${name} (${source.type}):`);
            report(ctx, saved);
          },
        }),
      );
      if (check.verified)
        ctx.out.info(
          'verified: trees readable, every blob indexed, packs present' +
            (typeof result.record.integrity === 'string' ? ', integrity ok' : ''),
        );
      else ctx.out.warn(`source "${name}": the backup just written does not verify:\n  ${check.reasons.join('\n  ')}`);
      const hooksOk = result.hookFailures.length === 0;
      const outcome = {
        source: name,
        ...where,
        type: source.type,
        ok: check.verified && hooksOk,
        ...(hooksOk ? {} : { hookFailures: result.hookFailures }),
        verified: check.verified,
        verification: check,
        ...snapshotSummary(result),
        record: result.record,
      };
      outcomes.push(outcome);
      ctx.out.emit({ ...outcome, type: 'source', sourceType: source.type });
      if (!check.verified || !hooksOk) code = ExitCode.Failure;
      else if (result.errors.length && code === ExitCode.Success) code = ExitCode.Partial;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const e = err instanceof LifeboatError ? err : new LifeboatError(ErrorCode.Failure, (err as Error).message);
      ctx.out.warn(`source "${name}" failed: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}`);
      outcomes.push({ source: name, ...where, type: source.type, ok: false, error: e.toJSON() });
      ctx.out.emit({ type: 'source', source: name, ...where, sourceType: source.type, ok: false, error: e.toJSON() });
      code = ExitCode.Failure;
    }
  }
  return code;
}

/** A job's backup steps through `runJob` (its lock, history and checks), without what follows them. */
async function backupJob(ctx: CommandContext, jobName: string, flags: BackupFlags): Promise<number> {
  const loaded = requireConfig(ctx.global, 'backup --job');
  const job = loaded.config.jobs?.[jobName];
  if (job && !job.to)
    throw new LifeboatError(ErrorCode.Usage, `job "${jobName}" has no \`to\` repository: it makes no backups`, {
      hint: 'add `to:` to the job, or use `lifeboat run` for its other steps',
    });
  if (job && jobSources(loaded, job).length === 0)
    throw new LifeboatError(ErrorCode.Usage, `job "${jobName}" names no sources to back up`, {
      hint: 'add `sources:` to the job',
    });
  const result = await runJob(loaded, jobName, {
    backupsOnly: true,
    reason: flags.reason,
    tags: flags.tag,
    ...jobRunFromCli(ctx, jobName),
  });
  ctx.out.emit({
    type: 'summary',
    job: jobName,
    runId: result.runId,
    outcome: result.outcome,
    durationMs: result.durationMs,
    steps: result.steps,
  });
  const failed = result.steps.filter((s) => s.outcome !== 'ok').length;
  ctx.out.result(
    `backups of job ${jobName}: ${result.outcome}${failed ? `, ${failed} of ${result.steps.length} step(s) not ok` : ''} (run ${result.runId})`,
  );
  if (result.outcome === 'ok') return ExitCode.Success;
  if (result.outcome === 'partial') return ExitCode.Partial;
  return ExitCode.Failure;
}

/** Run `run` with a progress bar for `label`, ended when it returns or when it calls the `stop` it is given. */
async function withProgress<T>(
  ctx: CommandContext,
  label: string,
  run: (progress: BackupProgress, stop: () => void) => Promise<T>,
): Promise<T> {
  const progress = newBackupProgress();
  const bar = new ProgressBar(
    () => ({
      label,
      files: progress.filesDone,
      bytes: progress.bytesDone,
      totalFiles: progress.totalFiles,
      totalBytes: progress.totalBytes,
    }),
    ctx.out.options.progress,
    ctx.out.json
      ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed, addedBytes: progress.bytesAdded })
      : undefined,
  ).start();
  let running = true;
  const stop = () => {
    if (running) bar.stop();
    running = false;
  };
  try {
    return await run(progress, stop);
  } finally {
    stop();
  }
}

function snapshotSummary(result: BackupResult): Record<string, unknown> {
  const { snapshot } = result;
  return {
    snapshot: {
      id: snapshot.id,
      time: snapshot.time,
      host: snapshot.host,
      source: snapshot.source ?? null,
      paths: snapshot.paths,
      tags: snapshot.tags,
      parent: snapshot.parent ?? null,
    },
    summary: snapshot.summary,
    errors: result.errors,
    repairedPacks: result.repairedPacks,
    knownDamagedCopies: result.knownDamagedCopies,
  };
}

function report(ctx: CommandContext, result: BackupResult): void {
  const { snapshot, errors } = result;
  const s = snapshot.summary;
  for (const e of errors) ctx.out.warn(`could not read ${e.path}: ${e.message}`);
  if (result.repairedPacks)
    ctx.out.warn(
      `${result.repairedPacks} pack(s) named in the index were missing or damaged; their data was stored again`,
    );
  if (result.knownDamagedCopies)
    ctx.out.warn(
      `${result.knownDamagedCopies} stored blob(s) that \`check --read-data\` found damaged were not reused; data still on disk was stored again`,
    );
  ctx.out.info(
    `files: ${s.files} (${s.filesRead} read, ${s.files - s.filesRead} unchanged), dirs: ${s.dirs}\n` +
      `data: ${formatBytes(s.bytes)}, new: ${formatBytes(s.addedBytes)} (${formatBytes(s.addedStoredBytes)} stored)\n` +
      `duration: ${formatDuration(s.durationMs)}`,
  );
  ctx.out.result(
    `snapshot ${snapshot.id.slice(0, 8)} saved${errors.length ? ` (${errors.length} input(s) could not be read)` : ''}`,
  );
}
