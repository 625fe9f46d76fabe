/**
 * The layer order of `src/`, top to bottom, as data. A file may import files of its own folder,
 * of a folder on the same layer (as long as folders do not import each other in a loop), and of
 * any lower layer; never of a higher one. docs/architecture.md ("Layers") lists the same order.
 *
 * A "folder" is the top-level entry under `src/`: a directory (`cli`) or a file (`index.ts`).
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['index.ts'],
  ['library'],
  ['cli'],
  ['daemon', 'handover', 'repo-server'],
  ['alerts'],
  ['jobs'],
  ['drill', 'verify', 'copier', 'compliance'],
  ['sources'],
  ['leftovers', 'state'],
  ['archiver', 'restorer', 'checker', 'pruner', 'retention', 'repairer'],
  ['config'],
  ['repository'],
  ['storage'],
  ['util'],
  ['errors', 'version.ts'],
];
