import type { Command } from 'commander';
import { openConfiguredRepository } from '../../config/repository-access.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { continuousSettings } from '../../sources/sqlite/continuous/settings.js';
import { continuousSources, streamRepository } from '../../sources/sqlite/continuous/stream-target.js';
import { replicate, type ReplicateResult } from '../../sources/sqlite/continuous/replicate.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import type { CommandContext } from '../context.js';

export function registerReplicate(program: Command, action: ActionFactory): void {
  program
    .command('replicate')
    .description(
      'continuous protection in the foreground: stream the WAL of sqlite sources with `continuous` into their repository until stopped',
    )
    .option('--source <name>', 'only this source (default: every sqlite source with `continuous`)')
    .action(
      action(async (ctx: CommandContext, flags: { source?: string }) => {
        const loaded = requireConfig(ctx.global, 'replicate');
        const sources = continuousSources(loaded.config, flags.source);
        if (!sources.length) {
          throw new LifeboatError(
            ErrorCode.Usage,
            'no sqlite source has `continuous` settings: there is nothing to replicate',
            { hint: 'add `continuous: { interval: 1s, snapshot_every: 6h, retention: 24h }` to a sqlite source' },
          );
        }
        const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
        const state = stateDir(loaded.config.state_dir);
        const results = await Promise.allSettled(
          sources.map(async (source) => {
            const target = streamRepository(loaded.config, source);
            const repo = await openConfiguredRepository(target.name, target.settings, { keyFile: ctx.global.keyFile });
            try {
              log(`replicating ${source.name} (${source.config.path}) into ${target.name}`);
              ctx.out.emit({ type: 'replicating', source: source.name, repository: target.name });
              return await replicate({
                source: source.name,
                path: source.config.path,
                repo,
                ...continuousSettings(source.config),
                stateDir: state,
                repositoryName: target.name,
                log,
                signal: ctx.signal,
              });
            } finally {
              await repo.close();
            }
          }),
        );
        let exit: number = ExitCode.Success;
        results.forEach((r, i) => {
          const name = sources[i]!.name;
          if (r.status === 'rejected') {
            const err = r.reason as Error;
            ctx.out.emit({ type: 'error', source: name, error: err.message });
            process.stderr.write(
              `error: ${name}: ${err.message}${err instanceof LifeboatError && err.hint ? `\nhint: ${err.hint}` : ''}\n`,
            );
            exit = err instanceof LifeboatError && err.code === ErrorCode.Usage ? ExitCode.Usage : ExitCode.Failure;
            return;
          }
          const s: ReplicateResult = r.value;
          ctx.out.emit({ type: 'summary', ...s });
          if (s.unshipped) {
            ctx.out.warn(
              `${name}: ${s.unshipped} committed transactions were not shipped before the stop (they are still in the database and its log)`,
            );
            exit = ExitCode.Failure;
          } else {
            ctx.out.result(
              `${name}: stopped with everything committed shipped (${s.transactionsShipped} transactions, ${s.objectsWritten} objects this run)`,
            );
          }
        });
        return exit;
      }),
    );
}
