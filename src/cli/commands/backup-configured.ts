/**
 * `backup --source` and `backup --job`: backups of configured sources, loaded
 * only when one of them is asked for (the job and source modules are the
 * larger part of what `backup` would otherwise load).
 *
 * @module
 */

import path from 'node:path';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { LifeboatConfig } from '../../config/schema.js';
import type { Repository } from '../../repository/repository.js';
import { sweepAtStart } from '../../leftovers/at-start.js';
import { sourceRemovers } from '../../sources/leftover-removers.js';
import { requireConfig } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';
import { backupAndCheck } from '../../jobs/backup-and-check.js';
import { jobSources, runJob } from '../../jobs/run-job.js';
import { jobRunFromCli } from './run.js';
import type { BackupFlags } from './backup-flags.js';
import { report, snapshotSummary, withProgress } from './backup-report.js';

/** Each named source into its own snapshot; a failing source does not stop the others. */
export async function backupSources(ctx: CommandContext, flags: BackupFlags): Promise<number> {
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
export async function backupJob(ctx: CommandContext, jobName: string, flags: BackupFlags): Promise<number> {
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
