import { Cron } from 'croner';
import { objectLockProblems } from './object-lock.js';
import { closest } from './problems.js';
import type { JobConfig, LifeboatConfig } from './schema.js';

export interface CrossProblem {
  path: string[];
  message: string;
  hint?: string;
}

const GUESSES = 20;
const LISTED = 10;

/** Checks that span keys: names that must exist elsewhere, schedules that must fire. */
export function crossCheck(config: LifeboatConfig): CrossProblem[] {
  const problems: CrossProblem[] = [];
  const sources = Object.keys(config.sources ?? {});
  const repositories = Object.keys(config.repositories ?? {});
  const sourceSet = new Set(sources);
  const repositorySet = new Set(repositories);
  const mustName = (kind: 'source' | 'repository', known: string[], name: string, at: string[]) => {
    if ((kind === 'source' ? sourceSet : repositorySet).has(name)) return;
    // A guess compares the name with every known one: only for the first few problems.
    const guess = problems.length < GUESSES ? closest(name, known) : undefined;
    const listed =
      known.length > LISTED
        ? `${known.slice(0, LISTED).join(', ')} and ${known.length - LISTED} more`
        : known.join(', ');
    problems.push({
      path: at,
      message: `no ${kind} named "${name}"`,
      hint: guess
        ? `did you mean "${guess}"?`
        : known.length
          ? `configured: ${listed}`
          : `add it under ${kind === 'source' ? 'sources' : 'repositories'}:`,
    });
  };

  for (const [name, repo] of Object.entries(config.repositories ?? {})) {
    const secrets = [repo.password_file, repo.password_command, repo.key_file].filter(Boolean).length;
    if (secrets > 1)
      problems.push({
        path: ['repositories', name],
        message: 'give only one of password_file, password_command and key_file',
      });
  }

  problems.push(...objectLockProblems(config));

  for (const [name, job] of Object.entries(config.jobs ?? {})) {
    const at = ['jobs', name];
    if (Array.isArray(job.sources))
      job.sources.forEach((s, i) => mustName('source', sources, s, [...at, 'sources', String(i)]));
    if (job.to) mustName('repository', repositories, job.to, [...at, 'to']);
    (job.copy_to ?? []).forEach((r, i) => mustName('repository', repositories, r, [...at, 'copy_to', String(i)]));
    if (job.sources && !job.to && !job.copy_to?.length) {
      problems.push({
        path: at,
        message: 'the job names sources but no repository to back them up to or copy them to',
        hint: 'add `to: REPOSITORY` (backups) or `copy_to: [REPOSITORY]` (copies)',
      });
    }
    if (!job.sources && !job.copy_to?.length && !job.drill && !job.then?.length) {
      problems.push({
        path: at,
        message: 'the job does nothing',
        hint: 'give it sources and `to`, `copy_to`, `then` steps or a `drill`',
      });
    }
    if (Array.isArray(job.drill?.sources))
      job.drill.sources.forEach((s, i) => mustName('source', sources, s, [...at, 'drill', 'sources', String(i)]));
    problems.push(...idleSteps(config, name, job));
    if (job.timezone && !validTimeZone(job.timezone))
      problems.push({
        path: [...at, 'timezone'],
        message: `unknown time zone "${job.timezone}"`,
        hint: 'an IANA name such as Europe/Berlin or UTC',
      });
    if (job.schedule) {
      const problem = scheduleProblem(job.schedule, job.timezone);
      if (problem) problems.push({ path: [...at, 'schedule'], ...problem });
    }
  }
  return problems;
}

/**
 * Steps that could only fail or do nothing when the job runs: a `then:` step
 * with no repository to act on, `forget` without a policy to apply, a copy
 * with nowhere to copy from, a drill with nothing to drill.
 */
function idleSteps(config: LifeboatConfig, name: string, job: JobConfig): CrossProblem[] {
  const problems: CrossProblem[] = [];
  const at = ['jobs', name];
  const repositories = config.repositories ?? {};
  const maintained = job.to ? [job.to] : (job.copy_to ?? []);
  (job.then ?? []).forEach((step, i) => {
    if (maintained.length === 0) {
      problems.push({
        path: [...at, 'then', String(i)],
        message: `the \`${step}\` step has no repository to act on`,
        hint: 'give the job `to: REPOSITORY` or `copy_to: [REPOSITORY]`',
      });
      return;
    }
    if (step !== 'forget') return;
    for (const repository of [...(job.to ? [job.to] : []), ...(job.copy_to ?? [])]) {
      if (!repositories[repository] || repositories[repository].retention || (repository === job.to && job.keep_last))
        continue;
      const copy = repository !== job.to;
      problems.push({
        path: [...at, 'then', String(i)],
        message: `the \`forget\` step has no retention policy for ${copy ? 'copy target' : 'repository'} "${repository}"`,
        hint: `add retention under repositories.${repository} (e.g. { keep_daily: 30, keep_weekly: 12, keep_monthly: 12 })${copy ? '' : ' or keep_last to the job'}`,
      });
    }
  });
  if (job.to && job.copy_to?.includes(job.to)) {
    problems.push({
      path: [...at, 'copy_to'],
      message: `the job copies "${job.to}" into itself`,
      hint: 'copy_to names the other repositories that receive copies of `to`',
    });
  }
  if (job.copy_to?.length && !job.to && !Object.keys(repositories).some((r) => !job.copy_to!.includes(r))) {
    problems.push({
      path: [...at, 'copy_to'],
      message: 'the copy has no repository to copy from',
      hint: 'give the job `to: REPOSITORY`, or configure a repository that is not a copy target',
    });
  }
  if (job.drill) {
    if (Object.keys(repositories).length === 0)
      problems.push({
        path: [...at, 'drill'],
        message: 'the drill has no repository to restore from',
        hint: 'configure a repository under repositories:',
      });
    const drilled =
      job.drill.sources === 'all' || !job.drill.sources
        ? Array.isArray(job.sources)
          ? job.sources
          : Object.keys(config.sources ?? {})
        : job.drill.sources;
    if (drilled.length === 0)
      problems.push({
        path: [...at, 'drill'],
        message: 'the drill has no source to restore',
        hint: 'configure sources, or name them in drill.sources',
      });
  }
  return problems;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function scheduleProblem(
  expression: string,
  timezone: string | undefined,
): { message: string; hint: string } | undefined {
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, ...(timezone && validTimeZone(timezone) ? { timezone } : {}) });
  } catch (err) {
    return {
      message: `invalid schedule "${expression}": ${(err as Error).message}`,
      hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"',
    };
  }
  try {
    if (!cron.nextRun())
      return {
        message: `the schedule "${expression}" never fires`,
        hint: 'check the day and month fields (e.g. 31 February)',
      };
  } finally {
    cron.stop();
  }
  return undefined;
}
