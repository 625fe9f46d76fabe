import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from '../util/make-dirs.js';

/**
 * The directory a restore writes into. It is created if absent (mode 0700)
 * and resolved with `realpath` once; every snapshot path is placed below that
 * real path. An entry is created only when its parent directory was made (or
 * verified to be a real directory) by this restore, so nothing is ever created
 * through whatever else stands at the parent's path.
 */
export class RestoreTarget {
  private readonly made = new Set<string>();

  private constructor(readonly root: string) {}

  static async open(target: string): Promise<RestoreTarget> {
    await makeDirectories(target, 0o700);
    return new RestoreTarget(await realpath(target));
  }

  /** Where the entry at snapshot path `p` is written. */
  readonly dest = (p: string): string => path.join(this.root, ...p.split('/').filter(Boolean));

  /** Record that the directory at snapshot path `p` is made. */
  madeDirectory(p: string): void {
    this.made.add(p);
  }

  isMade(p: string): boolean {
    return this.made.has(p);
  }

  /** Whether the entry at `p` may be created: its parent is the root or a directory made by this restore. */
  parentMade(p: string): boolean {
    const parent = path.posix.dirname(p);
    return parent === '/' || this.made.has(parent);
  }
}
