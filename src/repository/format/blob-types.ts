/** The two kinds of blob: file content and directory trees. */
export const BlobType = { Data: 0, Tree: 1 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

/** Where a blob lives: its pack and its byte range there. */
export interface BlobLocation {
  id: Buffer;
  type: BlobType;
  packId: string;
  offset: number;
  /** Stored (sealed) length in the pack. */
  length: number;
  /** Length of the original content. */
  rawLength: number;
}
