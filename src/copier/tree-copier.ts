import { throwIfAborted } from '../archiver/abort.js';
import type { FileSaver, SavedContent } from '../archiver/file-saver.js';
import type { BackupProgress } from '../archiver/progress.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { blobIdFromHex } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from '../repository/format/index.js';
import type { BlobWriter } from '../repository/write-session.js';
import { readSnapshotFile } from '../sources/snapshot-file.js';
import { Semaphore } from '../util/semaphore.js';

/** Files whose content is being read from the source and stored, at most. */
const FILES_AT_ONCE = 8;

/**
 * Rebuilds a snapshot's trees in another repository. Blob ids and chunk
 * boundaries depend on each repository's keys, so content cannot be moved
 * blob by blob: every file is streamed from the source (each blob
 * authenticated and checked against its id, the length against the recorded size) into
 * the destination's own saving pipeline, which chunks, deduplicates, seals and
 * packs it like a backup would. Nodes keep all their metadata; only content
 * lists and subtree ids change.
 *
 * Content is read once per run: equal content (the same source blob ids) chunks to equal
 * blobs, so a file already copied in this run reuses that content list as long
 * as the destination still holds every one of its blobs. Content held by the
 * destination's copy of an earlier snapshot is read from the source again; the
 * saving pipeline then finds its blobs known and stores nothing twice.
 */
export class TreeCopier {
  /** Source tree id → destination tree id, for directories met again in this run. */
  private readonly trees = new Map<string, string>();
  /** Size and source content ids → the destination's content list for them. */
  private readonly contents = new Map<string, SavedContent>();
  private readonly files = new Semaphore(FILES_AT_ONCE);

  constructor(
    private readonly src: Repository,
    private readonly dest: Pick<Repository, 'loadTree' | 'chunker'>,
    private readonly writer: BlobWriter,
    private readonly saver: FileSaver,
    private readonly progress: BackupProgress,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Copy the source tree `srcTree` and return the destination tree id.
   * `reference` is a destination tree standing for an earlier state of the same
   * directory (the copy of the parent snapshot), whose content may be reused.
   */
  async copy(srcTree: string, reference?: string, at = '/'): Promise<string> {
    throwIfAborted(this.signal);
    const done = this.trees.get(srcTree);
    if (done) return done;
    const [tree, previous] = await Promise.all([this.src.loadTree(srcTree), this.referenceNodes(reference)]);
    const nodes = await Promise.all(
      tree.nodes.map((node) =>
        this.copyNode(node, previous.get(node.name), at === '/' ? `/${node.name}` : `${at}/${node.name}`),
      ),
    );
    const id = await this.writer.saveTree({ nodes });
    this.trees.set(srcTree, id);
    return id;
  }

  private async referenceNodes(treeId: string | undefined): Promise<Map<string, TreeNode>> {
    if (!treeId) return new Map();
    try {
      return new Map((await this.dest.loadTree(treeId)).nodes.map((n) => [n.name, n]));
    } catch {
      return new Map(); // an unreadable reference only means reading everything from the source
    }
  }

  private async copyNode(node: TreeNode, previous: TreeNode | undefined, path: string): Promise<TreeNode> {
    // Spreading keeps the field order of the source node, so trees encode the same way.
    if (node.type === 'dir' && node.subtree)
      return {
        ...node,
        subtree: await this.copy(node.subtree, previous?.type === 'dir' ? previous.subtree : undefined, path),
      };
    if (node.type === 'file' || node.type === 'stream')
      return { ...node, content: (await this.content(node, previous, path)).content };
    return { ...node }; // symlinks and legacy hardlink nodes have no content
  }

  private async content(node: TreeNode, _previous: TreeNode | undefined, path: string): Promise<SavedContent> {
    const size = node.size ?? 0;
    // The source's own content ids identify the content within this run (a file held by several snapshots is read once).
    const key = `${size}:${(node.content ?? []).join(',')}`;
    const known = this.contents.get(key);
    if (known && known.size === size && known.content.every((id) => this.writer.has(blobIdFromHex(id)))) {
      this.progress.filesDone++;
      this.progress.bytesDone += size;
      return known;
    }
    return this.files.with(1, async () => {
      throwIfAborted(this.signal);
      this.progress.currentPath = path;
      // Every blob is authenticated and checked against its id as it is read from the source.
      const stream = readSnapshotFile(this.src, node, path);
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
      this.contents.set(key, saved);
      return saved;
    });
  }
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}
