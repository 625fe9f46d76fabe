/**
 * What a write-only host remembers of its own backups, in its local state
 * directory (format document §2.4): for each series (host, source, paths) its
 * last snapshot and every tree of it, so the next backup skips unchanged files
 * as it would with a parent it could read. The repository's copy of those
 * trees is sealed to the repository's public key and the host cannot open it;
 * this copy is sealed under the slot's own state key, so only the holder of
 * that slot's password reads it. It is a cache: when it is missing or does not
 * open, the backup reads every file again and deduplicates by presence.
 *
 * @module
 */

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, isLifeboatError, systemErrorCode } from '../errors/index.js';
import { open, seal } from './crypto/index.js';
import { decodeTree, type SnapshotEntry, type Tree } from './format/index.js';
import { randomId } from './ids.js';

interface Remembered {
  snapshot: SnapshotEntry;
  /** Tree id (hex) → the tree's stored bytes, base64. */
  trees: Record<string, string>;
}

export class WriteOnlyState {
  private remembered: Remembered[] = [];
  private readonly trees = new Map<string, Buffer>();

  constructor(
    private readonly file: string | undefined,
    private readonly key: Buffer,
  ) {}

  /** `<state dir>/write-only/<repository id>/<key id>`. */
  static fileFor(stateDir: string, repositoryId: string, keyId: string): string {
    return path.join(stateDir, 'write-only', repositoryId, keyId);
  }

  /** Read the file; false when there is none or it does not open (then nothing is remembered). */
  async load(): Promise<boolean> {
    if (!this.file) return false;
    let sealed: Buffer;
    try {
      sealed = await readFile(this.file);
    } catch (err) {
      if (systemErrorCode(err) === 'ENOENT') return false;
      throw err;
    }
    try {
      const parsed = JSON.parse(open(this.key, 'write-only-state', sealed).toString('utf8')) as {
        snapshots?: Remembered[];
      };
      this.remembered = Array.isArray(parsed.snapshots) ? parsed.snapshots : [];
    } catch (err) {
      if (!isLifeboatError(err, ErrorCode.Corrupt) && !(err instanceof SyntaxError)) throw err;
      return false;
    }
    for (const r of this.remembered)
      for (const [id, b64] of Object.entries(r.trees)) this.trees.set(id, Buffer.from(b64, 'base64'));
    return true;
  }

  /** The remembered snapshots (the parents this host can use). */
  snapshots(): SnapshotEntry[] {
    return this.remembered.map((r) => r.snapshot);
  }

  /** A remembered tree, or undefined. */
  tree(idHex: string): Tree | undefined {
    const bytes = this.trees.get(idHex);
    return bytes ? decodeTree(bytes, idHex) : undefined;
  }

  /**
   * Remember `snapshot` as the last of its series, with its trees (every tree
   * reachable from its root, found in `encoded`), and write the file (0600).
   */
  async remember(snapshot: SnapshotEntry, encoded: ReadonlyMap<string, Buffer>): Promise<void> {
    if (!this.file) return;
    const trees: Record<string, string> = {};
    const pending = [snapshot.tree];
    while (pending.length) {
      const id = pending.pop()!;
      if (trees[id]) continue;
      const bytes = encoded.get(id) ?? this.trees.get(id);
      if (!bytes) return; // not all trees known: better no parent than a wrong one
      trees[id] = bytes.toString('base64');
      for (const node of decodeTree(bytes, id).nodes) if (node.subtree) pending.push(node.subtree);
    }
    const series = seriesOf(snapshot);
    this.remembered = [...this.remembered.filter((r) => seriesOf(r.snapshot) !== series), { snapshot, trees }];
    const plain = Buffer.from(JSON.stringify({ version: 1, snapshots: this.remembered }));
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${randomId().slice(0, 16)}`;
    await writeFile(tmp, seal(this.key, 'write-only-state', plain), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

function seriesOf(s: SnapshotEntry): string {
  return JSON.stringify([s.host, s.source ?? '', [...s.paths].sort()]);
}
