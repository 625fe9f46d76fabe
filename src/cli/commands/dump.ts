import type { Command } from 'commander';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { findSnapshot } from '../snapshot-ref.js';
import { readSnapshotFile, snapshotFileNode } from '../../sources/snapshot-file.js';

export function registerDump(program: Command, action: ActionFactory): void {
  program
    .command('dump')
    .description('write one file of a snapshot to stdout')
    .argument('<snapshot>', 'snapshot id, prefix or "latest"')
    .argument('<path>', 'path of the file inside the snapshot')
    .option('--source <name>', 'with "latest": newest snapshot of this source')
    .option('--host <name>', 'with "latest": newest snapshot of this host')
    .action(
      action(async (ctx: CommandContext, ref: string, filePath: string, flags: { source?: string; host?: string }) =>
        withRepository(ctx, async (repo) => {
          await repo.prepareRead();
          // `latest` is the newest snapshot holding this file, so another source backed up later does not hide it.
          const snapshot = await findSnapshot(
            repo,
            ref,
            { source: flags.source, host: flags.host, path: filePath },
            (w) => ctx.out.warn(w),
          );
          const node = await snapshotFileNode(repo, snapshot, filePath);
          for await (const data of readSnapshotFile(repo, node, filePath)) {
            if (!process.stdout.write(data)) await new Promise((r) => process.stdout.once('drain', r));
          }
        }),
      ),
    );
}
