import { parseDuration } from '../../config/duration.js';
import type { Command } from 'commander';
import type { DrillResult } from '../../drill/drill.js';
import { summaryLine } from '../../drill/render.js';
import { listDrillReports } from '../../drill/store.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { sweepAtStart } from '../../leftovers/at-start.js';
import { sourceRemovers } from '../../sources/leftover-removers.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { optionalConfig } from '../configured.js';
import type { CommandContext } from '../context.js';
import { forEachRepository, NOT_HERE, repositoriesToRead } from '../each-repository.js';
import { formatDuration } from '../../util/format.js';

interface Flags {
  source: string[];
  snapshot?: string;
  within?: string;
  seed?: string;
  report?: string;
  identity?: string;
  list?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerDrill(program: Command, action: ActionFactory): void {
  program
    .command('drill')
    .description(
      'restore test into an isolated environment: verify, recent data, smoke command, RTO and RPO against targets; writes a report; exit 1 on FAIL',
    )
    .option(
      '--source <name>',
      'source to drill (repeatable, or comma-separated; default: every configured source)',
      collect,
      [],
    )
    .option('--snapshot <id>', 'drill this snapshot (id, prefix or "latest") instead of choosing one')
    .option('--within <duration>', 'choose a random snapshot no older than this (e.g. 30d); default: the newest')
    .option('--seed <n>', 'seed of the random choice, to repeat a drill exactly')
    .option('--report <dir>', 'also write the report (Markdown, JSON, HTML) into this directory')
    .option(
      '--identity <file>',
      'age identity for sealed sources; without it their sealed streams are hash-checked only',
    )
    .option('--list', 'show the drill history stored in the repository')
    .action(
      action(async (ctx: CommandContext, flags: Flags) => {
        if (flags.list) return listDrills(ctx);
        const loaded = optionalConfig(ctx.global);
        const configured = loaded?.config.sources ?? {};
        const names = flags.source
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter(Boolean);
        const wanted = names.length === 0 || names.includes('all') ? Object.keys(configured) : [...new Set(names)];
        if (wanted.length === 0)
          throw new LifeboatError(ErrorCode.Usage, 'no source to drill', {
            hint: 'pass --source NAME, or configure sources in lifeboat.yaml',
          });
        if (flags.snapshot && wanted.length > 1)
          throw new LifeboatError(ErrorCode.Usage, '--snapshot drills one source; name it with --source');
        if (flags.snapshot && flags.within)
          throw new LifeboatError(ErrorCode.Usage, 'give --snapshot or --within, not both');
        const seed = flags.seed === undefined ? undefined : Number(flags.seed);
        if (seed !== undefined && !Number.isSafeInteger(seed))
          throw new LifeboatError(ErrorCode.Usage, `--seed ${flags.seed} is not an integer`);
        await sweepAtStart(loaded?.config, sourceRemovers, ctx.out);
        const several = repositoriesToRead(ctx.global) !== undefined;
        const drilled = new Set<string>();
        const code = await forEachRepository(
          ctx,
          async (ctx, repo) => {
            const results: DrillResult[] = [];
            // With several repositories, each source is drilled in every repository that holds it.
            // Base backups and WAL (`NAME:pitr-base`, `NAME:pitr-wal`) hold the source NAME too.
            const held = several
              ? new Set((await repo.listSnapshots()).snapshots.map((s) => s.source?.replace(/:pitr-(base|wal)$/, '')))
              : undefined;
            const here = held ? wanted.filter((n) => held.has(n)) : wanted;
            if (here.length === 0) {
              ctx.out.info('  no snapshot of these sources here');
              return NOT_HERE;
            }
            let streamFailures = 0;
            let streamDrills = 0;
            for (const name of here) {
              drilled.add(name);
              const source = configured[name];
              if (source?.type === 'sqlite' && source.continuous) {
                // A continuous source is drilled from its stream: a random point in the window.
                const { drillContinuous } = await import('../../drill/continuous-drill.js');
                const d = await drillContinuous(repo, {
                  source: name,
                  rpoSeconds: source.rpo ? parseDuration(source.rpo) : null,
                  rtoSeconds: source.rto ? parseDuration(source.rto) : null,
                  smoke: source.smoke,
                  recentData: source.recent_data,
                  signal: ctx.signal,
                  log: (l) => ctx.out.verbose(l),
                });
                ctx.out.emit({ type: 'drill', continuous: true, ...d });
                ctx.out.result(
                  `${d.verdict} ${name} (sqlite, continuous) as of ${d.pointAt} (holds the commit of ${d.committedAt}): RPO ${formatDuration(d.rpo.measuredSeconds * 1000)}, RTO ${formatDuration(d.rto.measuredSeconds * 1000)}, integrity ${d.integrity}`,
                );
                for (const c of d.checks)
                  ctx.out.info(
                    `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${String(c.actual)}${c.detail ? ` (${c.detail})` : ''}`,
                  );
                if (d.smoke) ctx.out.info(`  ${d.smoke.ok ? 'ok  ' : 'FAIL'} smoke: ${d.smoke.command}`);
                for (const reason of d.reasons) ctx.out.result(`  - ${reason}`);
                streamDrills++;
                if (d.verdict === 'FAIL') streamFailures++;
                continue;
              }
              // Loaded when needed: the point-in-time modules are large and most runs never use them.
              const [{ drillSource }, { walFetchCommand }] = await Promise.all([
                import('../../drill/drill-source.js'),
                import('./pitr-restore.js'),
              ]);
              const drills = await drillSource(
                repo,
                {
                  source: name,
                  config: configured[name],
                  snapshot: flags.snapshot,
                  within: flags.within,
                  seed,
                  identity: flags.identity,
                  stateDir: stateDir(loaded?.config.state_dir),
                  reportDir: flags.report,
                  signal: ctx.signal,
                  log: (l) => ctx.out.verbose(l),
                },
                () => walFetchCommand(ctx, name),
              );
              for (const result of drills) {
                results.push(result);
                const r = result.report;
                ctx.out.emit({
                  type: 'drill',
                  ...r,
                  ...(r.pointInTime ? { pitr: true } : {}),
                  object: result.object,
                  files: result.reportFiles ?? result.localFiles,
                });
                ctx.out.result(summaryLine(r));
                for (const reason of r.reasons) ctx.out.result(`  - ${reason}`);
                const files = result.reportFiles ?? result.localFiles;
                if (files) ctx.out.info(`  report: ${files.html}`);
              }
            }
            const failed = results.filter((r) => r.report.verdict === 'FAIL').length + streamFailures;
            ctx.out.emit({
              type: 'summary',
              drills: results.length + streamDrills,
              failed,
              verdict: failed ? 'FAIL' : 'PASS',
              reports: results.map((r) => ({
                source: r.report.source.name,
                verdict: r.report.verdict,
                reasons: r.report.reasons,
                object: r.object,
                files: r.reportFiles ?? r.localFiles,
              })),
            });
            return failed ? ExitCode.Failure : ExitCode.Success;
          },
          () =>
            new LifeboatError(ErrorCode.NotFound, `no configured repository holds a snapshot of ${wanted.join(', ')}`, {
              hint: 'back the sources up first: lifeboat backup --source NAME',
            }),
        );
        const missing = wanted.filter((n) => !drilled.has(n));
        if (several && drilled.size && missing.length) {
          ctx.out.warn(`no configured repository holds a snapshot of ${missing.join(', ')}: not drilled`);
          return code || ExitCode.Failure;
        }
        return code;
      }),
    );
}

async function listDrills(ctx: CommandContext): Promise<number> {
  return forEachRepository(ctx, async (ctx, repo) => {
    const { reports, unreadable } = await listDrillReports(repo);
    ctx.out.emit({ type: 'summary', drills: reports, unreadable });
    if (reports.length === 0) ctx.out.result('no drills recorded in this repository');
    for (const r of reports) ctx.out.result(`${r.startedAt.slice(0, 19).replace('T', ' ')}  ${summaryLine(r)}`);
    for (const u of unreadable) ctx.out.warn(`${u} cannot be read`);
    return unreadable.length ? ExitCode.Failure : ExitCode.Success;
  });
}
