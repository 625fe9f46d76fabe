import { lstat, readdir, readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { LifeboatError, systemErrorCode } from '../errors/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import type { Repository } from '../repository/repository.js';
import type { Tree, TreeNode } from '../repository/format/index.js';
import { Semaphore } from '../util/semaphore.js';
import type { ExcludeMatcher } from './excludes.js';
import type { FileSaver, SavedContent } from './file-saver.js';
import { groupName, userName } from './owners.js';
import type { BackupProgress } from './progress.js';
import { isVirtualDir, type StreamEntry, type VirtualDir } from './virtual-root.js';
import { lstatBig } from './fast-fs.js';
import { throwIfAborted } from './abort.js';
import { memoryLimits } from '../util/memory-profile.js';

export interface InputError {
  path: string;
  message: string;
  /** A path the backup was asked for (not one found while walking) is missing, empty, unreadable or of a type never backed up. */
  given?: true;
}

export interface WalkStats {
  files: number;
  dirs: number;
  bytes: number;
  filesRead: number;
}

/**
 * Walks directories into tree blobs. A file whose size, mtime, ctime and inode
 * match its node in the parent snapshot (and whose chunks are all still in the
 * repository) is not read again. Unreadable inputs are recorded, not fatal.
 */
export class TreeWalker {
  readonly errors: InputError[] = [];
  readonly stats: WalkStats = { files: 0, dirs: 0, bytes: 0, filesRead: 0 };
  private readonly io = new Semaphore(16);
  /**
   * Entries examined or read at a time. Measured on 100,000 small files: each
   * entry in flight holds ~5 KB of main-thread heap (its stat, promises and
   * seal request); unbounded, they were all in flight at once (1.2 GB RSS).
   * 1,024 by default, fewer with the low memory profile.
   */
  private readonly slots = new Semaphore(memoryLimits().entriesInFlight);

  constructor(
    private readonly repo: Pick<Repository, 'loadTree'>,
    private readonly writer: BlobWriter,
    private readonly saver: FileSaver,
    private readonly excluded: ExcludeMatcher,
    private readonly progress: BackupProgress,
    private readonly signal?: AbortSignal,
    /** Test-only: called after a file was read, before it is checked for changes. */
    private readonly afterRead?: (path: string) => Promise<void>,
  ) {}

  /** An input error found outside the walk (a given path that does not exist). */
  recordInputError(e: InputError): void {
    this.errors.push(e);
    this.progress.errors++;
  }

  async walkWholeRoot(parentTree: string | undefined): Promise<{ treeId: string; stats: WalkStats }> {
    const treeId = await this.walkDir('/', parentTree);
    return { treeId, stats: this.stats };
  }

  async walkVirtual(root: VirtualDir, parentTree: string | undefined): Promise<{ treeId: string; stats: WalkStats }> {
    const treeId = await this.virtualDir(root, parentTree);
    return { treeId, stats: this.stats };
  }

  /**
   * The parent snapshot's entries of a directory. An unreadable parent tree
   * means reading the directory's files again; it is said (a warning, exit 3),
   * and the damaged copy is set aside by the read, so the directory's new tree
   * is stored afresh even where its content is unchanged, never referenced.
   */
  private async parentNodes(treeId: string | undefined, dirPath: string): Promise<Map<string, TreeNode>> {
    if (!treeId) return new Map();
    try {
      const tree = await this.repo.loadTree(treeId);
      return new Map(tree.nodes.map((n) => [n.name, n]));
    } catch (err) {
      if (!(err instanceof LifeboatError)) throw err;
      this.inputError(
        dirPath,
        new Error(
          `the parent snapshot's record of this directory is unreadable (${err.message}); its files were read again and its record stored afresh`,
        ),
      );
      return new Map();
    }
  }

  private async virtualDir(dir: VirtualDir, parentTree: string | undefined): Promise<string> {
    const previous = await this.parentNodes(parentTree, dir.path);
    const nodes = await Promise.all(
      [...dir.children].map(async ([name, child]): Promise<TreeNode | undefined> => {
        const childPath = path.posix.join(dir.path, name);
        if (isVirtualDir(child)) {
          const subtree = await this.virtualDir(child, previous.get(name)?.subtree);
          const st = await lstat(childPath, { bigint: true }).catch(() => undefined);
          return st?.isDirectory() ? { ...this.baseNode(name, 'dir', st), subtree } : syntheticDir(name, subtree);
        }
        if (child.kind === 'stream') return this.streamNode(name, child);
        return this.entry(child.path, name, previous.get(name), true);
      }),
    );
    return this.storeTree({ nodes: nodes.filter((n): n is TreeNode => n !== undefined) });
  }

  private async walkDir(dirPath: string, parentTree: string | undefined): Promise<string> {
    this.throwIfAborted();
    const [names, previous] = await Promise.all([
      this.io
        .with(1, () => readdir(dirPath, { encoding: 'buffer' }))
        .then(
          (raw) => this.utf8Names(dirPath, raw),
          (err: unknown) => {
            this.inputError(dirPath, err);
            return [] as string[];
          },
        ),
      this.parentNodes(parentTree, dirPath),
    ]);
    names.sort();
    const nodes = await Promise.all(
      names.map((name) => {
        const childPath = dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
        return this.excluded(childPath) ? undefined : this.entry(childPath, name, previous.get(name));
      }),
    );
    return this.storeTree({ nodes: nodes.filter((n): n is TreeNode => n !== undefined) });
  }

  /**
   * One directory entry → its node, or undefined when it vanished, is excluded
   * or unreadable. A `given` path (one the backup was asked for) that vanished
   * or is of a type never backed up is an input error, not a silent omission.
   */
  private async entry(
    fullPath: string,
    name: string,
    previous: TreeNode | undefined,
    given = false,
  ): Promise<TreeNode | undefined> {
    this.throwIfAborted();
    // A directory's entries all start at once; the slot bounds how many are examined and read
    // at a time, so the memory of a walk does not grow with the number of files.
    await this.slots.acquire(1);
    let held = true;
    const release = () => {
      if (held) this.slots.release(1);
      held = false;
    };
    try {
      return await this.examine(fullPath, name, previous, given, release);
    } finally {
      release();
    }
  }

  /** `entry` holding a slot; a directory gives its slot back before its own entries take theirs. */
  private async examine(
    fullPath: string,
    name: string,
    previous: TreeNode | undefined,
    given: boolean,
    release: () => void,
  ): Promise<TreeNode | undefined> {
    let st: BigIntStats;
    try {
      st = lstatBig(fullPath);
    } catch (err) {
      if (systemErrorCode(err) !== 'ENOENT') this.inputError(fullPath, err);
      else if (given) this.recordInputError({ path: fullPath, message: 'does not exist', given: true });
      return undefined;
    }
    try {
      if (st.isDirectory()) {
        this.stats.dirs++;
        release();
        const subtree = await this.walkDir(fullPath, previous?.type === 'dir' ? previous.subtree : undefined);
        return { ...this.baseNode(name, 'dir', st), subtree };
      }
      if (st.isSymbolicLink()) {
        return { ...this.baseNode(name, 'symlink', st), target: await readlink(fullPath) };
      }
      if (st.isFile()) return await this.fileNode(fullPath, name, st, previous);
      if (given)
        this.recordInputError({
          path: fullPath,
          message: 'is not a file, directory or symlink; not backed up',
          given: true,
        });
      return undefined; // sockets, FIFOs and devices are not backed up
    } catch (err) {
      // Only the input's own I/O errors are recorded and skipped; repository or storage failures end the backup.
      const code = systemErrorCode(err);
      if (err instanceof LifeboatError || !code || !/^E[A-Z0-9]+$/.test(code)) throw err;
      if (systemErrorCode(err) === 'ENOENT' && !given) return undefined;
      this.inputError(fullPath, err);
      return undefined;
    }
  }

  private async fileNode(
    fullPath: string,
    name: string,
    st: BigIntStats,
    previous: TreeNode | undefined,
  ): Promise<TreeNode> {
    const size = Number(st.size);
    if (previous && this.unchanged(previous, this.fileBase(name, st), size)) {
      this.stats.files++;
      this.stats.bytes += size;
      this.progress.filesDone++;
      this.progress.bytesDone += size;
      return { ...this.fileBase(name, st), size, content: previous.content ?? [] };
    }
    this.progress.currentPath = fullPath;
    const { saved, read } = await this.readConsistently(fullPath, st);
    this.stats.files++;
    this.stats.filesRead++;
    this.stats.bytes += saved.size;
    this.progress.filesDone++;
    return { ...this.fileBase(name, read), size: saved.size, content: saved.content };
  }

  /**
   * Every name of a multiply-linked file is stored as a full file node (its
   * content deduplicates to nothing) with the link count; restore re-links
   * names that share dev and inode. Deterministic, and any single name can be
   * restored or dumped on its own.
   */
  private fileBase(name: string, st: BigIntStats): TreeNode {
    return { ...this.baseNode(name, 'file', st), ...(st.nlink > 1n ? { links: Number(st.nlink) } : {}) };
  }

  /**
   * Read a file and make sure it did not change meanwhile: size, mtime, ctime
   * and inode before and after the read must agree, or the stored content may
   * be a mix of two versions (a state the file never had). A changed file is
   * read once more; when it changes again its last read is kept and reported
   * as an input error, so the backup ends with exit 3 naming it.
   */
  private async readConsistently(
    fullPath: string,
    before: BigIntStats,
  ): Promise<{ saved: SavedContent; read: BigIntStats }> {
    let st = before;
    for (let attempt = 1; ; attempt++) {
      const saved = await this.saver.saveFile(fullPath, Number(st.size), this.signal);
      await this.afterRead?.(fullPath);
      const after = lstatBig(fullPath); // a file removed meanwhile throws ENOENT: it is skipped like any vanished file
      if (sameVersion(st, after)) return { saved, read: st };
      if (attempt === 2) {
        this.inputError(
          fullPath,
          new Error(
            'changed while it was read (twice); the stored copy may mix old and new content — stop its writer, or back up a file-system snapshot of it',
          ),
        );
        return { saved, read: st };
      }
      if (!after.isFile())
        throw Object.assign(new Error('was replaced by something that is not a file while it was read'), {
          code: 'ECHANGED',
        });
      st = after;
    }
  }

  private unchanged(previous: TreeNode, current: TreeNode, size: number): boolean {
    return (
      previous.type === 'file' &&
      previous.size === size &&
      previous.mtimeNs === current.mtimeNs &&
      previous.ctimeNs === current.ctimeNs &&
      previous.inode === current.inode &&
      Array.isArray(previous.content) &&
      previous.content.every((id) => this.writer.has(blobIdFromHex(id)))
    );
  }

  private async streamNode(name: string, entry: StreamEntry): Promise<TreeNode> {
    const saved = await this.saver.saveStream(
      entry.open(this.signal ?? new AbortController().signal),
      this.signal,
      entry.chunking,
    );
    this.stats.files++;
    this.stats.filesRead++;
    this.stats.bytes += saved.size;
    this.progress.filesDone++;
    const now = `${BigInt(Date.now()) * 1_000_000n}`;
    return {
      name,
      type: 'stream',
      mode: entry.mode ?? 0o600,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      mtimeNs: now,
      size: saved.size,
      content: saved.content,
    };
  }

  private baseNode(name: string, type: TreeNode['type'], st: BigIntStats): TreeNode {
    const uid = Number(st.uid);
    const gid = Number(st.gid);
    const user = userName(uid);
    const group = groupName(gid);
    return {
      name,
      type,
      mode: Number(st.mode) & 0o7777,
      uid,
      gid,
      ...(user ? { user } : {}),
      ...(group ? { group } : {}),
      mtimeNs: st.mtimeNs.toString(),
      ctimeNs: st.ctimeNs.toString(),
      inode: Number(st.ino),
      dev: Number(st.dev),
    };
  }

  private storeTree(tree: Tree): Promise<string> {
    return this.writer.saveTree(tree);
  }

  /**
   * Names as strings. A name that is not valid UTF-8 cannot be represented in
   * a tree yet: it is reported as an input error (exit 3), never dropped silently.
   */
  private utf8Names(dirPath: string, raw: Buffer[]): string[] {
    const names: string[] = [];
    for (const b of raw) {
      const name = b.toString('utf8');
      if (Buffer.from(name, 'utf8').equals(b)) names.push(name);
      else
        this.inputError(
          `${dirPath}/${name}`,
          new Error(`the file name is not valid UTF-8 (bytes ${b.toString('hex')}); not backed up`),
        );
    }
    return names;
  }

  private inputError(p: string, err: unknown): void {
    this.errors.push({ path: p, message: (err as Error).message ?? String(err) });
    this.progress.errors++;
  }

  private throwIfAborted(): void {
    throwIfAborted(this.signal);
  }
}

/** The same version of a file: a write, truncation or replacement changes at least one of these. */
function sameVersion(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

function syntheticDir(name: string, subtree: string): TreeNode {
  return {
    name,
    type: 'dir',
    mode: 0o755,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    mtimeNs: '0',
    subtree,
  };
}
