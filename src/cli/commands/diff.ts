import type { Command } from 'commander';
import type { SnapshotEntry } from '../../repository/format/index.js';
import { diffTrees, type TreeChangeKind } from '../../repository/snapshot-tree/index.js';
import type { Repository } from '../../repository/repository.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { findSnapshot, type SnapshotSelector } from '../snapshot-ref.js';
import { escapeName } from '../../util/escape-name.js';

type Change = { path: string; change: TreeChangeKind };

export function registerDiff(program: Command, action: ActionFactory): void {
  program
    .command('diff')
    .description('show what changed between two snapshots')
    .argument('<a>', 'older snapshot')
    .argument('<b>', 'newer snapshot')
    .option('--metadata', 'also list entries whose only change is owner or mtime')
    .option('--source <name>', 'with "latest": newest snapshot of this source')
    .option('--host <name>', 'with "latest": newest snapshot of this host')
    .action(
      action(
        async (
          ctx: CommandContext,
          refA: string,
          refB: string,
          flags: { metadata?: boolean; source?: string; host?: string },
        ) =>
          withRepository(ctx, async (repo) => {
            await repo.prepareRead();
            const { a, b } = await resolvePair(repo, refA, refB, flags, (w) => ctx.out.warn(w));
            const changes: Change[] = [];
            for await (const c of diffTrees(repo, a.tree, b.tree)) changes.push({ path: c.path, change: c.change });
            const shown = flags.metadata ? changes : changes.filter((c) => c.change !== 'metadata');
            const counts = { added: 0, removed: 0, modified: 0, type: 0, metadata: 0 };
            for (const c of changes) counts[c.change]++;
            ctx.out.emit({ a: a.id, b: b.id, changes: shown, counts });
            const sign = { added: '+', removed: '-', modified: 'M', type: 'T', metadata: 'U' } as const;
            for (const c of shown) ctx.out.result(`${sign[c.change]}  ${escapeName(c.path)}`);
            const typeChanged = counts.type > 0 ? `, ${counts.type} changed type` : '';
            ctx.out.info(
              `${counts.added} added, ${counts.removed} removed, ${counts.modified} modified${typeChanged}${flags.metadata ? `, ${counts.metadata} metadata only` : ''}`,
            );
          }),
      ),
    );
}

/**
 * `diff ID latest` compares with the newest snapshot of the same source and
 * host as ID (unless --source/--host say otherwise), not with whatever was
 * backed up last.
 */
async function resolvePair(
  repo: Repository,
  refA: string,
  refB: string,
  flags: { source?: string; host?: string },
  warn: (w: string) => void,
): Promise<{ a: SnapshotEntry; b: SnapshotEntry }> {
  const given = { source: flags.source, host: flags.host };
  if (refA === 'latest' && refB !== 'latest') {
    const b = await findSnapshot(repo, refB);
    return { a: await findSnapshot(repo, refA, like(b, given), warn), b };
  }
  const a = await findSnapshot(repo, refA, given, warn);
  const b = await findSnapshot(repo, refB, refA === 'latest' ? given : like(a, given), warn);
  return { a, b };
}

function like(s: SnapshotEntry, given: { source?: string; host?: string }): SnapshotSelector {
  if (given.source || s.source) return { source: given.source ?? s.source, host: given.host ?? s.host };
  return { host: given.host ?? s.host, backupOf: s.paths };
}
