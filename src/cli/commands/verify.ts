import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
import { sweepAtStart } from '../../leftovers/at-start.js';
import { sourceRemovers } from '../../sources/leftover-removers.js';
import { sourceMetadata } from '../../sources/run-source.js';
import { show } from '../../drill/report.js';
import { verify } from '../../verify/verify.js';
import type { ActionFactory } from '../action.js';
import { optionalConfig } from '../configured.js';
import type { CommandContext } from '../context.js';
import { forEachRepository, NOT_HERE, repositoriesToRead } from '../each-repository.js';
import { formatDuration } from '../../util/format.js';
import { findSnapshot } from '../snapshot-ref.js';

interface Flags {
  source?: string;
  host?: string;
  identity?: string;
}

export function registerVerify(program: Command, action: ActionFactory): void {
  program
    .command('verify')
    .description(
      "restore a snapshot to scratch and run its source's checks against what was recorded at backup time; exit 1 on any difference",
    )
    .argument('[snapshot]', 'snapshot id, prefix or "latest"', 'latest')
    .option('--source <name>', 'with "latest": newest snapshot of this source')
    .option('--host <name>', 'with "latest": newest snapshot of this host')
    .option('--identity <file>', 'age identity for sealed sources; without it only the sealed streams are hash-checked')
    .action(
      action(async (ctx: CommandContext, ref: string, flags: Flags) => {
        const loaded = optionalConfig(ctx.global);
        await sweepAtStart(loaded?.config, sourceRemovers, ctx.out);
        const several = repositoriesToRead(ctx.global) !== undefined;
        const filter = {
          ...(flags.host ? { host: flags.host } : {}),
          ...(flags.source ? { source: flags.source } : {}),
        };
        const nowhere = () =>
          new LifeboatError(
            ErrorCode.NotFound,
            `no configured repository holds a snapshot matching "${ref}"${flags.source ? ` of source "${flags.source}"` : ''}`,
            { hint: 'list them with `lifeboat snapshots`' },
          );
        return forEachRepository(
          ctx,
          async (ctx, repo) => {
            let snapshot;
            try {
              snapshot = await findSnapshot(repo, ref, filter, (w) => ctx.out.warn(w));
            } catch (err) {
              // With several repositories, one that lacks the snapshot is not an error: the others may hold it.
              if (several && isLifeboatError(err, ErrorCode.NotFound)) {
                ctx.out.info('  no matching snapshot here');
                return NOT_HERE;
              }
              throw err;
            }
            const meta = sourceMetadata(snapshot);
            const config = meta ? loaded?.config.sources?.[meta.source.name] : undefined;
            const result = await verify(repo, snapshot, {
              config,
              identity: flags.identity,
              signal: ctx.signal,
              log: (l) => ctx.out.verbose(l),
            });
            ctx.out.emit({ type: 'summary', ...result });
            const what = meta ? `${meta.source.type} source "${meta.source.name}"` : 'path backup';
            for (const c of result.checks)
              ctx.out.info(
                `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : `: expected ${show(c.expected)}, found ${show(c.actual)}${c.detail ? ` (${c.detail})` : ''}`}`,
              );
            ctx.out.result(
              `${result.ok ? 'verified' : 'FAILED'}: ${what}, snapshot ${snapshot.id.slice(0, 8)} of ${snapshot.time} (${result.checks.filter((c) => c.ok).length}/${result.checks.length} checks) in ${formatDuration(result.durationMs)}`,
            );
            return result.ok ? ExitCode.Success : ExitCode.Failure;
          },
          nowhere,
        );
      }),
    );
}
