import { throwIfAborted } from '../archiver/abort.js';
import type { FileSaver, SavedContent } from '../archiver/file-saver.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from '../repository/format/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import { readSnapshotFile } from '../sources/snapshot-file.js';
import { Semaphore } from '../util/semaphore.js';
import type { CopyProgress } from './progress.js';

/** Files whose content is being read from the source and stored, at most. */
const FILES_AT_ONCE = 8;

/**
 * The same directory in the base of an incremental copy (incremental-base.ts):
 * its tree in the source's earlier snapshot and in the destination's copy of it.
 */
export interface BaseTrees {
  src: string;
  dest: string;
}

/** The entry of the same name in the base: in the source's earlier snapshot and in its copy. */
interface BaseNode {
  from: TreeNode;
  copy?: TreeNode;
}

/** Files and bytes under a destination tree. */
interface Totals {
  files: number;
  bytes: number;
}

/**
 * Rebuilds a snapshot's trees in another repository. Blob ids and chunk
 * boundaries depend on each repository's keys, so content cannot be moved
 * blob by blob: a file is streamed from the source (each blob
 * authenticated and checked against its id, the length against the recorded size) into
 * the destination's own saving pipeline, which chunks, deduplicates, seals and
 * packs it like a backup would. Nodes keep all their metadata; only content
 * lists and subtree ids change.
 *
 * What the destination already holds is not read again:
 * - content met earlier in this run (the same source blob ids chunk to equal
 *   blobs) reuses that content list;
 * - with a base (the destination's copy of an earlier snapshot of this source),
 *   three trees are walked together — the snapshot's, the earlier snapshot's
 *   in the source, and its copy's in the destination. A directory whose source
 *   tree id equals the earlier one's takes the copy's tree as it is; a file
 *   whose size and source content ids equal the earlier one's takes the copy's
 *   content list.
 * Either only while the destination's index holds every blob involved (every
 * tree and content blob under a reused directory): packs that storage lost are
 * out of the index after `prepareRead`, so what they held is read from the
 * source and stored again. `verifyCopy` checks the whole result afterwards.
 */
export class TreeCopier {
  /** Source tree id → destination tree id, for directories met again in this run. */
  private readonly trees = new Map<string, string>();
  /** Size and source content ids → the destination's content list for them (being read, or done). */
  private readonly contents = new Map<string, Promise<SavedContent>>();
  /** Destination tree id → its totals when every blob under it is held, else undefined. */
  private readonly held = new Map<string, Promise<Totals | undefined>>();
  private readonly files = new Semaphore(FILES_AT_ONCE);

  constructor(
    private readonly src: Repository,
    private readonly dest: Pick<Repository, 'loadTree' | 'chunker'>,
    private readonly writer: BlobWriter,
    private readonly saver: FileSaver,
    private readonly progress: CopyProgress,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Copy the source tree `srcTree` and return the destination tree id. `base`
   * is the same directory in the base of an incremental copy, if any.
   */
  async copy(srcTree: string, base?: BaseTrees, at = '/'): Promise<string> {
    throwIfAborted(this.signal);
    const done = this.trees.get(srcTree);
    if (done) return done;
    if (base?.src === srcTree && (await this.reuseTree(base.dest))) {
      this.trees.set(srcTree, base.dest);
      return base.dest;
    }
    const [tree, baseNodes] = await Promise.all([this.src.loadTree(srcTree), this.baseNodes(base)]);
    const nodes = await Promise.all(
      tree.nodes.map((node) =>
        this.copyNode(node, baseNodes.get(node.name), at === '/' ? `/${node.name}` : `${at}/${node.name}`),
      ),
    );
    const id = await this.writer.saveTree({ nodes });
    this.trees.set(srcTree, id);
    return id;
  }

  /** Take the destination tree `id` as it is when every blob under it is held; counts its files as done. */
  private async reuseTree(id: string): Promise<boolean> {
    const t = await this.heldUnder(id);
    if (!t) return false;
    this.countReused(t);
    return true;
  }

  /** Files and bytes under the destination tree `id` when every blob under it is held (once per tree and run). */
  private heldUnder(id: string): Promise<Totals | undefined> {
    let totals = this.held.get(id);
    if (!totals) {
      totals = this.heldTotals(id);
      this.held.set(id, totals);
    }
    return totals;
  }

  private async heldTotals(id: string): Promise<Totals | undefined> {
    throwIfAborted(this.signal);
    if (!this.writer.has(blobIdFromHex(id))) return undefined;
    let tree;
    try {
      tree = await this.dest.loadTree(id);
    } catch {
      return undefined; // unreadable here: the directory is copied from the source
    }
    const parts = await Promise.all(
      tree.nodes.map(async (node): Promise<Totals | undefined> => {
        if (node.type === 'dir') {
          return node.subtree ? this.heldUnder(node.subtree) : { files: 0, bytes: 0 };
        }
        if (node.type !== 'file' && node.type !== 'stream') return { files: 0, bytes: 0 };
        return this.allHeld(node.content) ? { files: 1, bytes: node.size ?? 0 } : undefined;
      }),
    );
    const totals: Totals = { files: 0, bytes: 0 };
    for (const p of parts) {
      if (!p) return undefined;
      totals.files += p.files;
      totals.bytes += p.bytes;
    }
    return totals;
  }

  private allHeld(content: readonly string[] | undefined): boolean {
    return (content ?? []).every((id) => this.writer.has(blobIdFromHex(id)));
  }

  /** The entries of the base directory by name; none when either tree cannot be read. */
  private async baseNodes(base: BaseTrees | undefined): Promise<Map<string, BaseNode>> {
    if (!base) return new Map();
    try {
      const [from, copy] = await Promise.all([this.src.loadTree(base.src), this.dest.loadTree(base.dest)]);
      const copies = new Map(copy.nodes.map((n) => [n.name, n]));
      return new Map(from.nodes.map((n) => [n.name, { from: n, copy: copies.get(n.name) }]));
    } catch {
      return new Map(); // an unreadable base only means reading everything below from the source
    }
  }

  private async copyNode(node: TreeNode, base: BaseNode | undefined, path: string): Promise<TreeNode> {
    // Spreading keeps the field order of the source node, so trees encode the same way.
    if (node.type === 'dir' && node.subtree) {
      const from = base?.from.type === 'dir' ? base.from.subtree : undefined;
      const copy = base?.copy?.type === 'dir' ? base.copy.subtree : undefined;
      return {
        ...node,
        subtree: await this.copy(node.subtree, from && copy ? { src: from, dest: copy } : undefined, path),
      };
    }
    if (node.type === 'file' || node.type === 'stream')
      return { ...node, content: (await this.content(node, base, path)).content };
    return { ...node }; // symlinks and legacy hardlink nodes have no content
  }

  /** The copy's content list for the same content in the base, when the destination holds all of it. */
  private reusable(node: TreeNode, base: BaseNode | undefined): SavedContent | undefined {
    const { from, copy } = base ?? {};
    if (!from || !copy || from.type !== node.type || copy.type !== node.type) return undefined;
    const size = node.size ?? 0;
    if ((from.size ?? 0) !== size || (copy.size ?? 0) !== size) return undefined;
    if (!sameIds(from.content, node.content)) return undefined;
    const content = copy.content ?? [];
    if (size > 0 && content.length === 0) return undefined;
    return this.allHeld(content) ? { content: [...content], size } : undefined;
  }

  private async content(node: TreeNode, base: BaseNode | undefined, path: string): Promise<SavedContent> {
    const size = node.size ?? 0;
    // The source's own content ids identify the content within this run (a file held by several snapshots is read once).
    const key = `${size}:${(node.content ?? []).join(',')}`;
    const known = this.contents.get(key);
    if (known) {
      const saved = await known;
      if (saved.size === size && this.allHeld(saved.content)) return this.reused(saved);
    }
    const reusable = this.reusable(node, base);
    if (reusable) {
      this.contents.set(key, Promise.resolve(reusable));
      return this.reused(reusable);
    }
    // Set before any await: the same content met meanwhile (a second name of a file) waits for this read.
    const reading = this.read(node, size, path);
    this.contents.set(key, reading);
    return reading;
  }

  private reused(saved: SavedContent): SavedContent {
    this.countReused({ files: 1, bytes: saved.size });
    return saved;
  }

  /** Files taken from the base or from earlier in this run: done, and not read from the source. */
  private countReused(t: Totals): void {
    this.progress.filesDone += t.files;
    this.progress.bytesDone += t.bytes;
    this.progress.filesReused += t.files;
    this.progress.bytesReused += t.bytes;
  }

  private read(node: TreeNode, size: number, path: string): Promise<SavedContent> {
    return this.files.with(1, async () => {
      throwIfAborted(this.signal);
      this.progress.currentPath = path;
      // Every blob is authenticated and checked against its id as it is read from the source.
      const stream = this.counted(readSnapshotFile(this.src, node, path));
      // A small file is one blob, as a backup stores it; anything else is chunked like a stream.
      const saved =
        node.type === 'file' && size < this.dest.chunker.params.min
          ? await this.saver.saveWhole(await collect(stream))
          : await this.saver.saveStream(stream, this.signal);
      if (saved.size !== size) {
        throw new LifeboatError(
          ErrorCode.Corrupt,
          `${path}: the content stored in the destination does not match the source's record`,
        );
      }
      this.progress.filesDone++;
      return saved;
    });
  }

  private async *counted(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const part of stream) {
      this.progress.bytesRead += part.length;
      yield part;
    }
  }
}

function sameIds(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}
