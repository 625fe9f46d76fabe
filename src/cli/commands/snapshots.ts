import { listForgetRequests } from '../../repository/forget-request.js';
import type { Command } from 'commander';
import { escapeName } from '../../util/escape-name.js';
import { matchesFilter, sortByTime } from '../../repository/format/index.js';
import type { ActionFactory } from '../action.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { CommandContext } from '../context.js';
import { forEachRepository } from '../each-repository.js';
import { formatBytes, formatTime, table } from '../../util/format.js';

interface Flags {
  source?: string;
  tag: string[];
  host?: string;
  latest?: string;
}

export function registerSnapshots(program: Command, action: ActionFactory): void {
  program
    .command('snapshots')
    .description('list snapshots')
    .option('--source <name>', 'only snapshots of this source')
    .option('--tag <tag>', 'only snapshots with this tag (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--host <name>', 'only snapshots from this host')
    .option('--latest <n>', 'only the newest N per host, source and paths')
    .action(
      action(async (ctx: CommandContext, flags: Flags) =>
        forEachRepository(ctx, async (ctx, repo) => {
          const { snapshots, problems } = await repo.listSnapshots();
          let list = snapshots.filter((s) =>
            matchesFilter(s, { source: flags.source, host: flags.host, tags: flags.tag }),
          );
          if (flags.latest) {
            const n = Number(flags.latest);
            if (!Number.isInteger(n) || n < 1)
              throw new LifeboatError(
                ErrorCode.Usage,
                `--latest takes a whole number of at least 1, got "${flags.latest}"`,
              );
            const groups = new Map<string, typeof list>();
            for (const s of list) {
              const key = `${s.host}\n${s.source ?? ''}\n${[...s.paths].sort().join('\n')}`;
              groups.set(key, [...(groups.get(key) ?? []), s]);
            }
            list = sortByTime([...groups.values()].flatMap((g) => g.slice(-n)));
          }
          for (const p of problems) ctx.out.warn(`${p.name}: ${escapeName(p.error.message)}`);
          // Forget requests of append keys, pending until an admin's prune applies or declines them.
          const requested = new Set((await listForgetRequests(repo)).requests.map((r) => r.snapshot));
          ctx.out.emit({
            snapshots: list.map((s) => (requested.has(s.id) ? { ...s, forgetRequested: true } : s)),
            problems: problems.map((p) => ({ object: p.name, error: p.error.toJSON() })),
          });
          const rows = list.map((s) => [
            s.id.slice(0, 8),
            formatTime(s.time),
            escapeName(s.host),
            escapeName(s.source ?? ''),
            escapeName(s.tags.join(',')),
            formatBytes(s.summary.bytes),
            [escapeName(s.reason ?? ''), requested.has(s.id) ? 'forget requested' : ''].filter(Boolean).join('; '),
            s.paths.map(escapeName).join(' '),
          ]);
          ctx.out.result(
            rows.length
              ? table(['ID', 'TIME', 'HOST', 'SOURCE', 'TAGS', 'SIZE', 'REASON', 'PATHS'], rows)
              : 'no snapshots',
          );
        }),
      ),
    );
}
