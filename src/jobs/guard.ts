import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { forget } from '../retention/forget.js';
import { stateDir } from '../state/state-dir.js';
import { backupAndCheck } from './backup-and-check.js';

export const PRE_MIGRATION_TAG = 'pre-migration';

/** What `guard` backs up before its action, and why. */
export interface GuardOptions {
  /** Sources to protect; default: those of the unscheduled job that names them, or of `job`. */
  source?: string[];
  /** The job whose `to` and `keep_last` apply (default: the unscheduled job holding the source). */
  job?: string;
  /** Repository name, when no job applies. */
  repository?: string;
  reason: string;
  signal?: AbortSignal;
  cacheRoot?: string;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
}

/** One verified backup `guard` made before its action. */
export interface GuardBackup {
  source: string;
  repository: string;
  snapshot: string;
  verified: boolean;
  trimmed: string[];
}

/**
 * A verified backup before a risky change (a migration, an upgrade), then the
 * change itself: `action` runs only when every backup was stored and passed
 * its check; otherwise it is never started. Old pre-migration snapshots beyond
 * the job's `keep_last` are trimmed.
 */
export async function guardWithConfig<T>(
  loaded: LoadedConfig,
  options: GuardOptions,
  action: () => Promise<T>,
): Promise<{ backups: GuardBackup[]; result: T }> {
  if (!options.reason.trim())
    throw new LifeboatError(ErrorCode.Usage, 'guard needs --reason TEXT', {
      hint: 'say what is about to change, e.g. "before migration 048"',
    });
  const plan = guardPlan(loaded, options);
  const backups: GuardBackup[] = [];
  const repo = await openConfiguredRepository(plan.repository, loaded.config.repositories![plan.repository]!, {
    cacheRoot: options.cacheRoot,
  });
  try {
    for (const source of plan.sources) {
      const { backup: result, check } = await backupAndCheck(repo, source, loaded.config.sources![source]!, {
        tags: [PRE_MIGRATION_TAG],
        reason: options.reason,
        signal: options.signal,
        log: options.log,
        // A backup that missed some inputs does not protect the change either.
        incompleteFails: true,
        hooks: { cwd: path.dirname(loaded.file), repository: plan.repository },
      });
      if (result.hookFailures.length)
        throw new LifeboatError(
          ErrorCode.HookFailed,
          `the pre-change backup of "${source}" was saved (snapshot ${result.snapshot.id.slice(0, 8)}) but its hooks failed: ${result.hookFailures.join('; ')}; the command was not run`,
          { hint: "fix the source's hooks (see its `hooks:` in the config), then run the guard again" },
        );
      if (!check.verified) {
        throw new LifeboatError(
          ErrorCode.Failure,
          `the pre-change backup of "${source}" did not pass its check (${check.reasons.join('; ')}); the command was not run`,
          { hint: 'run `lifeboat check` and fix the repository before trying again' },
        );
      }
      const trimmed = plan.keepLast
        ? (
            await forget(repo, {
              policy: { keepLast: plan.keepLast },
              source,
              tags: [PRE_MIGRATION_TAG],
              force: true,
              stateDir: stateDir(loaded.config.state_dir),
              signal: options.signal,
            })
          ).removed.map((r) => r.snapshot)
        : [];
      backups.push({ source, repository: plan.repository, snapshot: result.snapshot.id, verified: true, trimmed });
    }
  } finally {
    await repo.close();
  }
  return { backups, result: await action() };
}

/** Which sources, into which repository, trimmed to how many. */
export function guardPlan(
  loaded: LoadedConfig,
  options: Pick<GuardOptions, 'source' | 'job' | 'repository'>,
): { sources: string[]; repository: string; keepLast?: number } {
  const { config } = loaded;
  const jobs = Object.entries(config.jobs ?? {});
  const named = options.job ? jobs.find(([n]) => n === options.job) : undefined;
  if (options.job && !named) throw new LifeboatError(ErrorCode.Usage, `no job named "${options.job}"`);
  const holds = (sources: unknown, s: string) => sources === 'all' || (Array.isArray(sources) && sources.includes(s));
  const job =
    named?.[1] ??
    (options.source?.length
      ? jobs.find(([, j]) => !j.schedule && j.to && options.source!.every((s) => holds(j.sources, s)))?.[1]
      : jobs.find(([n, j]) => !j.schedule && j.to && n.includes('migration'))?.[1]);
  const sources = options.source?.length
    ? options.source
    : job?.sources === 'all'
      ? Object.keys(config.sources ?? {})
      : (job?.sources ?? []);
  if (sources.length === 0)
    throw new LifeboatError(ErrorCode.Usage, 'which sources should guard back up?', {
      hint: 'pass --source NAME, or add an unscheduled job (e.g. pre-migration) with sources and `to`',
    });
  for (const s of sources)
    if (!config.sources?.[s]) throw new LifeboatError(ErrorCode.Usage, `no source named "${s}" in the config`);
  const repos = Object.keys(config.repositories ?? {});
  const repository = options.repository ?? job?.to ?? (repos.length === 1 ? repos[0] : undefined);
  if (!repository || !config.repositories?.[repository]) {
    throw new LifeboatError(ErrorCode.Usage, 'which repository should guard back up to?', {
      hint: 'add an unscheduled job with `to`, or pass --repo NAME',
    });
  }
  return { sources, repository, keepLast: job?.keep_last };
}
