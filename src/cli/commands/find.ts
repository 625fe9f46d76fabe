import type { Command } from 'commander';
import { Minimatch } from 'minimatch';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { matchesFilter, sortByTime, type SnapshotEntry, type TreeNode } from '../../repository/format/index.js';
import type { Repository } from '../../repository/repository.js';
import { nsToSeconds } from '../../restorer/restore.js';
import { escapeName } from '../../util/escape-name.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatTime } from '../../util/format.js';
import { nodeAt, walkTree } from '../../repository/snapshot-tree/index.js';

interface Flags {
  source?: string;
  host?: string;
  path?: string;
}

/** A pattern without `/` matches a name at any depth; with `/`, the whole snapshot path (like restore's --include). */
export function compilePattern(pattern: string): Minimatch {
  return new Minimatch(pattern.includes('/') && !pattern.startsWith('/') ? `/${pattern}` : pattern, {
    dot: true,
    matchBase: !pattern.includes('/'),
  });
}

export function registerFind(program: Command, action: ActionFactory): void {
  program
    .command('find')
    .description('find files by name or path pattern across snapshots')
    .argument('<pattern>', 'a name glob (*.age) or a snapshot path glob (/etc/app/**)')
    .option('--source <name>', 'only snapshots of this source')
    .option('--host <name>', 'only snapshots of this host')
    .option('--path <path>', 'only below this path, in the snapshots that hold it')
    .action(
      action(async (ctx: CommandContext, pattern: string, flags: Flags) =>
        withRepository(ctx, async (repo) => {
          await repo.prepareRead();
          const matcher = compilePattern(pattern);
          const { snapshots } = await repo.listSnapshots();
          const chosen = sortByTime(
            snapshots.filter((s) =>
              matchesFilter(s, {
                ...(flags.source ? { source: flags.source } : {}),
                ...(flags.host ? { host: flags.host } : {}),
              }),
            ),
          );
          if (chosen.length === 0)
            throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches the --source/--host given', {
              hint: 'list them with `lifeboat snapshots`',
            });
          let matches = 0;
          let searched = 0;
          const withMatches = new Set<string>();
          for (const s of chosen) {
            if (ctx.signal.aborted) break;
            const entries = await entriesOf(repo, s, flags.path);
            if (!entries) continue;
            searched++;
            for await (const { path, node } of entries) {
              if (!matcher.match(path)) continue;
              matches++;
              withMatches.add(s.id);
              const mtime = new Date(nsToSeconds(node.mtimeNs) * 1000).toISOString();
              ctx.out.emit({
                type: 'match',
                snapshot: { id: s.id, time: s.time, host: s.host, source: s.source ?? null },
                path,
                node: {
                  type: node.type,
                  mode: node.mode,
                  size: node.size ?? 0,
                  mtime,
                  ...(node.target ? { target: node.target } : {}),
                },
              });
              ctx.out.result(
                `${s.id.slice(0, 8)}  ${formatTime(s.time)}  ${escapeName(path)}${node.type === 'dir' ? '/' : ''}`,
              );
            }
          }
          ctx.out.emit({
            type: 'summary',
            pattern,
            matches,
            snapshotsWithMatches: withMatches.size,
            snapshotsSearched: searched,
          });
          if (searched === 0)
            throw new LifeboatError(ErrorCode.NotFound, `no snapshot holds ${escapeName(flags.path ?? '/')}`, {
              hint: 'list a snapshot with `lifeboat ls SNAPSHOT`',
            });
          if (matches === 0)
            throw new LifeboatError(
              ErrorCode.NotFound,
              `nothing matches ${escapeName(pattern)} in ${searched} snapshot${searched === 1 ? '' : 's'}`,
              { hint: 'a pattern without / matches a name; with /, the whole path (/etc/**/app.yaml)' },
            );
          ctx.out.info(
            `${matches} match${matches === 1 ? '' : 'es'} in ${withMatches.size} of ${searched} snapshot${searched === 1 ? '' : 's'} searched`,
          );
        }),
      ),
    );
}

/** Every entry of the snapshot (below `path` if given); undefined when the snapshot does not hold `path`. */
async function entriesOf(
  repo: Repository,
  s: SnapshotEntry,
  path: string | undefined,
): Promise<AsyncIterable<{ path: string; node: TreeNode }> | undefined> {
  const prefix = '/' + (path ?? '').split('/').filter(Boolean).join('/');
  if (prefix === '/') return walkTree(repo, s.tree, '/');
  let start: TreeNode;
  try {
    start = await nodeAt(repo, s.tree, prefix);
  } catch (err) {
    if (err instanceof LifeboatError && err.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
  if (start.type === 'dir' && start.subtree) return walkTree(repo, start.subtree, prefix);
  return (async function* () {
    yield { path: prefix, node: start };
  })();
}
