import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { forget, type ForgetResult } from '../../retention/forget.js';
import { addToPolicy, describePolicy, policyFromConfig, type RetentionPolicy } from '../../retention/policy.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { chooseRepository, optionalConfig, requireChosenRepository } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';
import { forgetStreams } from '../../sources/sqlite/continuous/stream-forget.js';
import { describeStream } from '../../sources/sqlite/continuous/stream-inventory.js';
import { formatDuration, formatTime } from '../../util/format.js';

interface Flags {
  dryRun?: boolean;
  force?: boolean;
  source?: string;
  host?: string;
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepTag: string[];
  maxAge?: string;
  replacePolicy?: boolean;
}

const collect = (v: string, p: string[]) => [...p, v];

export function registerForget(program: Command, action: ActionFactory): void {
  program
    .command('forget')
    .description(
      'apply retention: plan which snapshots to keep and why, then remove the rest (their data goes with `prune`)',
    )
    .option('--dry-run', 'print the plan and remove nothing')
    .option(
      '--force',
      "allow removing more than half of a source's snapshots, or acting on a listing much shorter than the last one seen",
    )
    .option('--source <name>', 'only snapshots of this source')
    .option('--host <name>', 'only snapshots of this host')
    .option('--keep-last <n>', 'keep the newest N')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last N hours that have one')
    .option('--keep-daily <n>', 'same for days')
    .option('--keep-weekly <n>', 'same for ISO weeks')
    .option('--keep-monthly <n>', 'same for months')
    .option('--keep-yearly <n>', 'same for years')
    .option('--keep-within <duration>', 'keep everything within this long of the newest snapshot (e.g. 7d)')
    .option('--keep-tag <tag>', 'keep snapshots with this tag (repeatable)', collect, [])
    .option(
      '--max-age <duration>',
      'remove anything older, whatever the rules say (never the last snapshot of a source)',
    )
    .option('--replace-policy', 'the --keep-*/--max-age flags replace the configured retention instead of adding to it')
    .action(
      action(async (ctx: CommandContext, flags: Flags) => {
        requireChosenRepository(ctx.global, 'forget', 'removes snapshots from one repository, by its own retention');
        const { policy, origin } = policyFor(ctx, flags);
        const loaded = optionalConfig(ctx.global);
        return withRepository(ctx, async (repo) => {
          if (describePolicy(policy)) ctx.out.info(`policy: ${describePolicy(policy)} (${origin})`);
          const result = await forget(repo, {
            policy,
            source: flags.source,
            host: flags.host,
            dryRun: flags.dryRun,
            force: flags.force,
            stateDir: stateDir(loaded?.config.state_dir),
            signal: ctx.signal,
          });
          const pending = new Set(result.pending);
          for (const g of result.plan) {
            const removing = g.decisions.filter((d) => d.action === 'remove').length;
            ctx.out.info(
              `source "${g.source}" on ${g.host}: keep ${g.decisions.length - removing}, remove ${removing}`,
            );
            for (const d of g.decisions)
              ctx.out.info(
                `  ${d.action.padEnd(6)}  ${d.snapshot.id.slice(0, 8)}  ${d.snapshot.time.slice(0, 19).replace('T', ' ')}  ${d.reasons.join('; ')}${pending.has(d.snapshot.id) ? '  (forget requested)' : ''}`,
              );
          }
          reportRequests(ctx, result);
          // Stream retention removes objects directly, with no request form: admin keys only.
          const streams =
            repo.role === 'admin'
              ? await forgetStreams(repo, loaded?.config, { dryRun: result.dryRun, source: flags.source })
              : [];
          for (const d of streams) {
            const name = describeStream({ ...d, configured: d.rule === 'window' });
            const oldest = d.oldestPointMs
              ? `; oldest restorable point ${formatTime(new Date(d.oldestPointMs).toISOString())}`
              : '';
            ctx.out.info(
              d.rule === 'window'
                ? `${name}: keep every point of the last ${formatDuration(d.retentionMs!)}: keep ${d.keep} objects, remove ${d.remove}${oldest}`
                : `${name}: kept whole (no configured source with \`continuous\`; remove it with \`lifeboat replicate --forget-orphan ${d.stream}\`): ${d.keep} objects${oldest}`,
            );
          }
          ctx.out.emit({
            type: 'summary',
            dryRun: result.dryRun,
            streams,
            policy: { rules: describePolicy(policy), origin },
            plan: result.plan.map((g) => ({
              source: g.source,
              host: g.host,
              decisions: g.decisions.map((d) => ({
                snapshot: d.snapshot.id,
                time: d.snapshot.time,
                action: d.action,
                reasons: d.reasons,
                forgetRequested: pending.has(d.snapshot.id),
              })),
            })),
            removed: result.removed,
            retained: result.retained,
            audit: result.audit ?? null,
            ...(result.requested ? { requested: result.requested } : {}),
            ...(result.requests ? { forgetRequests: result.requests } : {}),
          });
          if (result.plan.length === 0 && streams.length === 0) {
            // A mistyped --source or --host, or an empty repository: say so rather than "0 removed".
            const what = [flags.source && `of source "${flags.source}"`, flags.host && `of host "${flags.host}"`]
              .filter(Boolean)
              .join(' ');
            ctx.out.result(`nothing to do: the repository holds no snapshot${what ? ` ${what}` : ''}`);
            return ExitCode.Failure;
          }
          if (result.dryRun)
            ctx.out.result(`dry run: ${result.removed.length} snapshot(s) would be removed; nothing changed`);
          else if (result.requested) {
            const fresh = result.requested.filter((r) => r.written).length;
            ctx.out.result(
              `the repository was opened with an append key: nothing was removed; ${fresh} forget request(s) written` +
                `${result.requested.length > fresh ? ` (${result.requested.length - fresh} already pending)` : ''}; an admin's \`lifeboat prune\` applies them`,
            );
          } else {
            if (result.retained.length > 0)
              ctx.out.warn(
                `${result.retained.length} snapshot(s) are still under their Object Lock retention and stay listed (${result.retained.map((id) => id.slice(0, 8)).join(', ')}); a later forget removes them once the retention ends`,
              );
            ctx.out.result(
              `${result.removed.length - result.retained.length} snapshot(s) removed${result.audit ? ` (audit record ${result.audit.slice(0, 8)})` : ''}; run \`lifeboat prune\` to reclaim their data`,
            );
          }
        });
      }),
    );
}

/** What an admin run did with the forget requests of append keys, or what a dry run would do. */
function reportRequests(ctx: CommandContext, result: ForgetResult): void {
  const q = result.requests;
  if (!q) return;
  for (const a of q.applied)
    ctx.out.info(
      `${result.dryRun ? 'would forget' : 'forgot'} ${a.snapshot.slice(0, 8)} of "${a.source}" on ${a.host}: ${a.rule}`,
    );
  for (const d of q.declined)
    ctx.out.warn(`forget request for ${d.snapshot.slice(0, 8)} of "${d.source}" on ${d.host} declined: ${d.why}`);
  for (const name of q.unreadable)
    ctx.out.warn(
      `forget request ${name} cannot be authenticated (not sealed with this repository's key) and was not applied`,
    );
}

/**
 * The configured repository's retention with the flags added on top (a flag
 * replaces the configured value of its own rule only), or with
 * `--replace-policy` the flags alone.
 */
function policyFor(ctx: CommandContext, flags: Flags): { policy: RetentionPolicy; origin: string } {
  const count = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new LifeboatError(ErrorCode.Usage, `--${name} must be a whole number of at least 1, got "${v}"`);
    return n;
  };
  const seconds = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (err) {
      throw new LifeboatError(ErrorCode.Usage, `--${name}: ${(err as Error).message}`);
    }
  };
  const fromFlags: RetentionPolicy = {
    keepLast: count('keep-last', flags.keepLast),
    keepHourly: count('keep-hourly', flags.keepHourly),
    keepDaily: count('keep-daily', flags.keepDaily),
    keepWeekly: count('keep-weekly', flags.keepWeekly),
    keepMonthly: count('keep-monthly', flags.keepMonthly),
    keepYearly: count('keep-yearly', flags.keepYearly),
    keepWithinSeconds: seconds('keep-within', flags.keepWithin),
    keepTags: flags.keepTag.length ? flags.keepTag : undefined,
    maxAgeSeconds: seconds('max-age', flags.maxAge),
  };
  const given = Object.values(fromFlags).some((v) => v !== undefined);
  if (flags.replacePolicy) {
    if (!given)
      throw new LifeboatError(ErrorCode.Usage, '--replace-policy needs the rules that replace the configured ones', {
        hint: 'e.g. --replace-policy --keep-daily 7',
      });
    return { policy: fromFlags, origin: 'the flags, replacing the configured retention' };
  }
  const choice = optionalConfig(ctx.global) ? chooseRepository(ctx.global) : undefined;
  const configured = choice?.settings?.retention;
  if (!configured) return { policy: fromFlags, origin: 'the flags' }; // empty: forget explains that no rule says what to keep
  const base = policyFromConfig(configured);
  if (!given) return { policy: base, origin: `retention of repository "${choice!.name}"` };
  return {
    policy: addToPolicy(base, fromFlags),
    origin: `retention of repository "${choice!.name}" with the flags added`,
  };
}
