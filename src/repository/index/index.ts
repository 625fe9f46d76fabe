/**
 * The index in memory (§7 of the format document): every known blob
 * and where it lives, loaded from the index files in storage.
 */
export { blobKey, MasterIndex } from './master-index.js';
export { IndexFiles, type IndexProblem } from './index-files.js';
