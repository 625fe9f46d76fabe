import { closeSync, constants, openSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { makeDirectories } from '../util/make-dirs.js';
import { nativeFs } from '../util/native-fs.js';

/** Directories whose descriptor stays open for the whole restore; deeper in a larger tree, one is opened per use. */
const HELD_DIRECTORIES = 512;

/** A directory descriptor lent to a step; `release` closes it unless the target holds it. */
export interface DirLease {
  fd: number;
  release(): void;
}

/**
 * The directory a restore writes into, and every directory the restore made
 * in it. The target is created if absent (mode 0700), resolved with
 * `realpath` once and opened; from then on nothing is resolved by path
 * string: each directory is made and opened relative to its parent's
 * descriptor (mkdirat, openat with O_DIRECTORY | O_NOFOLLOW), its identity
 * (device and inode) recorded, and every later step reaches it again only
 * through descriptors, component by component, checking each identity. A
 * directory swapped for a symlink or for another directory while the restore
 * runs is refused (never followed), so nothing is written outside the target.
 * An entry is created only when its parent directory was made (or verified
 * to be a real directory) by this restore.
 */
export class RestoreTarget {
  private readonly ids = new Map<string, [bigint, bigint]>();
  private readonly held = new Map<string, number>();

  private constructor(
    readonly root: string,
    private readonly rootFd: number,
  ) {
    this.held.set('/', rootFd);
    this.ids.set('/', nativeFs().identity(rootFd));
  }

  static async open(target: string): Promise<RestoreTarget> {
    nativeFs(); // fail before creating anything when the helper is missing
    await makeDirectories(target, 0o700);
    const root = await realpath(target);
    let fd: number;
    try {
      fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new LifeboatError(ErrorCode.UnsafePath, `cannot open the target ${root}: ${(err as Error).message}`, {
        hint: 'restore into a directory (not a symlink to one)',
      });
    }
    // What was opened is what was resolved (no parent swapped in between), where /proc tells.
    const opened = procPathOf(fd);
    if (opened !== undefined && opened !== root) {
      closeSync(fd);
      throw new LifeboatError(
        ErrorCode.UnsafePath,
        `the target ${root} changed while it was opened (it is now ${opened}); refusing to restore`,
        { hint: 'make sure no one else can rename the directories above the target' },
      );
    }
    return new RestoreTarget(root, fd);
  }

  /** Close every descriptor the target holds. */
  close(): void {
    for (const fd of this.held.values()) closeSync(fd);
    this.held.clear();
  }

  /** Where the entry at snapshot path `p` is (for messages; never opened by this path). */
  readonly dest = (p: string): string => path.join(this.root, ...p.split('/').filter(Boolean));

  /**
   * Make (or verify) the directory at snapshot path `p`, relative to its parent's descriptor, and record
   * its identity. Its parent must have been made by this restore.
   */
  makeDirectory(p: string): void {
    const native = nativeFs();
    const parent = this.lease(path.posix.dirname(p));
    let fd: number;
    try {
      fd = native.openDirAt(parent.fd, path.posix.basename(p), true, 0o700);
    } catch (err) {
      throw unsafe(this.dest(p), err);
    } finally {
      parent.release();
    }
    this.ids.set(p, native.identity(fd));
    if (this.held.size < HELD_DIRECTORIES) this.held.set(p, fd);
    else closeSync(fd);
  }

  isMade(p: string): boolean {
    return this.ids.has(p);
  }

  /** Whether the entry at `p` may be created: its parent is the root or a directory made by this restore. */
  parentMade(p: string): boolean {
    return this.ids.has(path.posix.dirname(p));
  }

  /**
   * A descriptor of the made directory at snapshot path `p`: a held one, or one opened from the nearest
   * held ancestor, component by component (O_NOFOLLOW), each checked against the identity recorded when
   * it was made.
   */
  lease(p: string): DirLease {
    const own = this.held.get(p);
    if (own !== undefined) return { fd: own, release: () => undefined };
    if (!this.ids.has(p)) throw new LifeboatError(ErrorCode.UnsafePath, `${this.dest(p)} was not made by this restore`);
    const parts = p.split('/').filter(Boolean);
    let start = parts.length - 1;
    while (start > 0 && !this.held.has('/' + parts.slice(0, start).join('/'))) start--;
    const native = nativeFs();
    let fd = start === 0 ? this.rootFd : this.held.get('/' + parts.slice(0, start).join('/'))!;
    let owned = false;
    try {
      for (let i = start; i < parts.length; i++) {
        const at = '/' + parts.slice(0, i + 1).join('/');
        const next = native.openDirAt(fd, parts[i]!, false, 0);
        if (owned) closeSync(fd);
        fd = next;
        owned = true;
        const [dev, ino] = native.identity(fd);
        const want = this.ids.get(at);
        if (!want || want[0] !== dev || want[1] !== ino)
          throw new LifeboatError(
            ErrorCode.UnsafePath,
            `${this.dest(at)} was replaced while the restore ran; refusing to write through it`,
          );
      }
    } catch (err) {
      if (owned) closeSync(fd);
      throw unsafe(this.dest(p), err);
    }
    const leased = fd;
    return { fd: leased, release: () => closeSync(leased) };
  }

  /** `step` with a descriptor of the directory holding the entry at `p`, and the entry's name. */
  inParent<T>(p: string, step: (dirFd: number, name: string) => T): T {
    const lease = this.lease(path.posix.dirname(p));
    try {
      return step(lease.fd, path.posix.basename(p));
    } finally {
      lease.release();
    }
  }
}

function procPathOf(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function unsafe(where: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENOTDIR') {
    return new LifeboatError(
      ErrorCode.UnsafePath,
      `${where} is not a real directory (${code === 'ELOOP' ? 'a symlink' : 'a file'}); refusing to restore through it`,
      { hint: 'restore into an empty --target' },
    );
  }
  return err;
}
