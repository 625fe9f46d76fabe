import { blobIdFromHex } from '../repository/format/index.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import type { TreeNode } from '../repository/format/index.js';

/**
 * Check a copied tree in the destination against its source before the
 * snapshot naming it is written: every destination tree loads (authenticated
 * and re-hashed against its id), holds the same entries with the same
 * metadata — including each file's size, which must equal the source's
 * record — and every content blob is indexed in a pack that storage
 * holds at the indexed size. Call `dest.checkPacks()` first, so that a pack
 * that went missing or was cut short counts as absent.
 */
export async function verifyCopy(src: Repository, dest: Repository, srcTree: string, destTree: string): Promise<void> {
  const seen = new Set<string>();
  const walk = async (s: string, d: string, at: string): Promise<void> => {
    if (seen.has(`${s} ${d}`)) return;
    seen.add(`${s} ${d}`);
    const [source, copy] = await Promise.all([src.loadTree(s), loadDestTree(dest, d, at)]);
    const copied = new Map(copy.nodes.map((n) => [n.name, n]));
    if (copied.size !== source.nodes.length)
      fail(at, `has ${copied.size} entries in the copy, ${source.nodes.length} in the source`);
    await Promise.all(
      source.nodes.map(async (node) => {
        const path = at === '/' ? `/${node.name}` : `${at}/${node.name}`;
        const other = copied.get(node.name);
        if (!other) return fail(path, 'is missing from the copy');
        if (describe(node) !== describe(other)) fail(path, 'has other metadata in the copy');
        if (node.type === 'dir' && node.subtree) return walk(node.subtree, other.subtree ?? '', path);
        if (node.type !== 'file' && node.type !== 'stream') return;
        const content = other.content ?? [];
        if ((node.size ?? 0) > 0 && content.length === 0) fail(path, 'has no content in the copy');
        for (const id of content)
          if (!dest.index.has(blobIdFromHex(id)))
            fail(path, `refers to blob ${id.slice(0, 12)}, which the destination does not hold`);
      }),
    );
  };
  await walk(srcTree, destTree, '/');
}

async function loadDestTree(dest: Repository, id: string, at: string) {
  try {
    return await dest.loadTree(id);
  } catch (err) {
    throw new LifeboatError(
      ErrorCode.Corrupt,
      `verification of the copy failed: the directory ${at} cannot be read back from the destination (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** A node without what differs between repositories (content ids, subtree ids). */
function describe(node: TreeNode): string {
  const { content: _content, subtree: _subtree, ...rest } = node;
  return JSON.stringify(rest);
}

function fail(path: string, what: string): never {
  throw new LifeboatError(ErrorCode.Corrupt, `verification of the copy failed: ${path} ${what}`, {
    hint: 'nothing was saved for this snapshot; run `lifeboat check` on both repositories',
  });
}
