/**
 * The repository's objects as bytes, one file per kind of object in the format
 * document: blobs and their compression (§4), packs (§6), index files (§7),
 * the config (§8), trees (§9) and snapshots (§10), with the bounds-checked
 * binary reader and writer they share. Encoding and decoding only: nothing here
 * reads or writes storage.
 */
export { asBlobId, type BlobId, blobIdFromHex, type BlobLocation, BlobType } from './blob-types.js';
export { BlobCompressor } from './codec.js';
export { openBlob, sealCompressed, sealVerified } from './blob-codec.js';
export { decodePackHeader, decodeSealedPackHeader, PackBuilder, packHeaderLength } from './pack.js';
export { decodeIndexFile, encodeIndexFile, type IndexedBlob, type IndexedPack, type IndexFile } from './index-file.js';
export {
  DEFAULT_COMPRESSION_LEVEL,
  newRepositoryConfig,
  parseRepositoryConfig,
  type RepositoryConfig,
  validCompressionLevel,
  WRITE_ONLY_FORMAT_VERSION,
} from './repo-config.js';
export { decodeTree, encodeTree, isSafeName, type NodeType, sameContent, type Tree, type TreeNode } from './tree.js';
export {
  matchesFilter,
  parseSnapshot,
  resolveSnapshotRef,
  type Snapshot,
  type SnapshotEntry,
  type SnapshotFilter,
  type SnapshotSummary,
  sortByTime,
} from './snapshot.js';
export { parseJsonWith } from './schema-issues.js';
