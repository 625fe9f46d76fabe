import type { Command } from 'commander';
import { openConfiguredRepository } from '../../config/repository-access.js';
import { ErrorCode, ExitCode, LifeboatError, exitCodeFor } from '../../errors/index.js';
import { continuousSettings } from '../../sources/sqlite/continuous/settings.js';
import { continuousSources, streamRepository } from '../../sources/sqlite/continuous/stream-target.js';
import { replicate, type ReplicateResult } from '../../sources/sqlite/continuous/replicate.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';
import { forEachRepository } from '../each-repository.js';
import { optionalConfig } from '../configured.js';
import type { Repository } from '../../repository/repository.js';
import { describeStream, storedStreams } from '../../sources/sqlite/continuous/stream-inventory.js';
import { streamPrefix } from '../../sources/sqlite/continuous/stream-names.js';
import { formatBytes, formatTime } from '../../util/format.js';

export function registerReplicate(program: Command, action: ActionFactory): void {
  program
    .command('replicate')
    .description(
      'continuous protection in the foreground: stream the WAL of sqlite sources with `continuous` into their repository until stopped',
    )
    .option('--source <name>', 'only this source (default: every sqlite source with `continuous`)')
    .option('--list', 'list the streams stored in the repository (orphans too) and exit')
    .option(
      '--forget-orphan <stream>',
      'remove an orphan stream (one no configured source with `continuous` owns), named by its id from --list',
    )
    .action(
      action(async (ctx: CommandContext, flags: { source?: string; list?: boolean; forgetOrphan?: string }) => {
        if (flags.list) return forEachRepository(ctx, (ctx, repo) => listStreams(ctx, repo));
        if (flags.forgetOrphan) return withRepository(ctx, (repo) => forgetOrphan(ctx, repo, flags.forgetOrphan!));
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
            // locked (another replicator holds the stream) is 11, a usage error 2, anything else 1.
            exit = err instanceof LifeboatError ? exitCodeFor(err.code) : ExitCode.Failure;
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

const iso = (ms: number | undefined) => (ms === undefined ? '-' : formatTime(new Date(ms).toISOString()));

/** `--list`: every stream under `wal/`, with its source or marked as an orphan. */
async function listStreams(ctx: CommandContext, repo: Repository): Promise<number> {
  const streams = await storedStreams(repo, optionalConfig(ctx.global)?.config);
  for (const s of streams) {
    ctx.out.emit({ type: 'stream', ...s, orphan: !s.configured });
    ctx.out.result(
      `${s.stream}  ${describeStream(s)}: ${s.generations} generation(s), ${s.objects} objects, ${formatBytes(s.bytes)}; points ${iso(s.oldestPointMs)} … ${iso(s.newestPointMs)}`,
    );
  }
  if (!streams.length) ctx.out.result('no continuous stream in this repository');
  const orphans = streams.filter((s) => !s.configured).length;
  if (orphans)
    ctx.out.info(
      `${orphans} orphan stream(s): kept whole by forget and the replicators; remove one with \`lifeboat replicate --forget-orphan ID\``,
    );
  return ExitCode.Success;
}

/** `--forget-orphan`: remove a stream that no configured source with `continuous` owns (never a configured one). */
async function forgetOrphan(ctx: CommandContext, repo: Repository, stream: string): Promise<number> {
  // Without the config every stream would look like an orphan: the config is required to tell.
  const config = requireConfig(ctx.global, 'replicate --forget-orphan').config;
  const found = (await storedStreams(repo, config)).find((s) => s.stream === stream);
  if (!found)
    throw new LifeboatError(ErrorCode.NotFound, `no continuous stream ${stream} in this repository`, {
      hint: 'list them with `lifeboat replicate --list`',
    });
  if (found.configured)
    throw new LifeboatError(
      ErrorCode.Refused,
      `stream ${stream} belongs to source "${found.source}", which has \`continuous\`: it is not an orphan`,
      {
        hint: 'its retention removes what the window no longer needs; remove `continuous` from the source first to drop it',
      },
    );
  const objects = await repo.storage.list(streamPrefix(stream));
  // Manifests first: a full copy stops looking whole before its parts go.
  objects.sort((a, b) => Number(/\/base\/[^./]+$/.test(b.name)) - Number(/\/base\/[^./]+$/.test(a.name)));
  for (const o of objects) await repo.storage.remove(o.name);
  ctx.out.emit({ type: 'forgotten', stream, objects: objects.length, bytes: found.bytes });
  ctx.out.result(`removed orphan stream ${stream}: ${objects.length} objects, ${formatBytes(found.bytes)}`);
  return ExitCode.Success;
}
