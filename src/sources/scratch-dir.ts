import path from 'node:path';
import type { RestoreContext, RestoreTarget } from './contract.js';

/**
 * Scratch targets for sources restored to files or directories: inside the
 * verification's private temp directory, which is removed with everything in
 * it, so these drivers need no `discard`.
 */
export function scratchDir(name = 'restored') {
  return async (ctx: Pick<RestoreContext, 'tempDir'>): Promise<RestoreTarget> => ({
    target: path.join(ctx.tempDir, name),
  });
}

export function scratchFile(name: string) {
  return async (ctx: Pick<RestoreContext, 'tempDir'>): Promise<RestoreTarget> => ({
    toFile: path.join(ctx.tempDir, 'restored', name),
  });
}
