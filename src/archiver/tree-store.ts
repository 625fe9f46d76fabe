import { BlobType, type Tree } from '../repository/format/index.js';
import type { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';

/**
 * Store a directory as a tree blob and return its id (hex). The id is computed
 * first: a tree the repository already holds (an unchanged directory) is not
 * compressed or sealed again.
 */
export async function storeTree(repo: Repository, packer: Packer, tree: Tree): Promise<string> {
  const encoded = repo.encodeTree(tree);
  const id = repo.blobIdOf(encoded);
  if (!packer.knows(id)) {
    const sealed = repo.sealOnMain(encoded, id);
    await packer.add(BlobType.Tree, id, sealed.sealed, sealed.rawLength);
  }
  return id.toString('hex');
}
