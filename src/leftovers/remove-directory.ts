import { rm, stat } from 'node:fs/promises';
import { gone, kept, removed, shellWord, type Removal, type RemovalContext } from './removal.js';

/** Remove one of Lifeboat's private directories and everything in it. */
export async function removeDirectory(dir: string, ctx: Pick<RemovalContext, 'dryRun'>): Promise<Removal> {
  if (!(await stat(dir).catch(() => undefined))) return gone;
  if (ctx.dryRun) return removed;
  try {
    await rm(dir, { recursive: true, force: true });
    return removed;
  } catch (err) {
    return kept((err as Error).message, `rm -rf ${shellWord(dir)}`);
  }
}
