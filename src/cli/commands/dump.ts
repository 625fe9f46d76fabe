import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { findSnapshot } from '../snapshot-ref.js';
import { nodeAt } from '../tree-paths.js';
import { fetchBlobs } from '../../restorer/blob-fetcher.js';
import { blobKey } from '../../repository/master-index.js';

export function registerDump(program: Command, action: ActionFactory): void {
  program
    .command('dump')
    .description('write one file of a snapshot to stdout')
    .argument('<snapshot>', 'snapshot id, prefix or "latest"')
    .argument('<path>', 'path of the file inside the snapshot')
    .action(
      action(async (ctx: CommandContext, ref: string, filePath: string) =>
        withRepository(ctx, async (repo) => {
          await repo.prepareRead();
          const snapshot = await findSnapshot(repo, ref);
          const node = await nodeAt(repo, snapshot.tree, filePath);
          if (node.type !== 'file' && node.type !== 'stream') {
            throw new LifeboatError(ErrorCode.Usage, `${filePath} is a ${node.type}, not a file`, { hint: 'use `lifeboat ls` or `lifeboat restore --include`' });
          }
          const ids = (node.content ?? []).map((h) => Buffer.from(h, 'hex'));
          const hash = createHash('sha256');
          // Fetch in groups so memory stays bounded for large files; write in order.
          for (let i = 0; i < ids.length; i += 16) {
            const group = ids.slice(i, i + 16);
            const fetched = await fetchBlobs(repo, group);
            for (const id of group) {
              const data = fetched.data.get(blobKey(id));
              if (!data) throw fetched.failed.get(blobKey(id)) ?? new LifeboatError(ErrorCode.Corrupt, 'blob missing');
              hash.update(data);
              if (!process.stdout.write(data)) await new Promise((r) => process.stdout.once('drain', r));
            }
          }
          if (node.hash && hash.digest('hex') !== node.hash) throw new LifeboatError(ErrorCode.Corrupt, `${filePath}: content hash mismatch; the output is not trustworthy`);
        }),
      ),
    );
}
