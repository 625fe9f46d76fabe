/**
 * The repository's `config` object (sealed with the repository key). Readers
 * refuse a format version they do not know instead of guessing.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { DEFAULT_CHUNKER, validateChunkerParams, type ChunkerParams } from '../chunking/index.js';

/** The version a new repository is written in. */
export const REPOSITORY_FORMAT_VERSION = 1;
/**
 * Version 2: the repository has (or had) a write-only key, so it may hold
 * version 2 envelopes and presence sidecars; `key add --role write-only` sets
 * it. Readers read versions 1 and 2.
 */
export const WRITE_ONLY_FORMAT_VERSION = 2;
const NEWEST_READABLE_VERSION = WRITE_ONLY_FORMAT_VERSION;

export interface RepositoryConfig {
  version: number;
  id: string;
  createdAt: string;
  chunker: ChunkerParams;
  compression: { codec: 'zstd'; level: number };
  /** Packs are closed once they reach this many bytes. */
  packSize: number;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/**
 * zstd level 2: measured on the benchmark dataset, within 1% of level 3's
 * repository size and about 1 CPU-second faster per GB (docs/performance.md).
 */
export const DEFAULT_COMPRESSION_LEVEL = 2;

export function validCompressionLevel(level: unknown): level is number {
  return Number.isInteger(level) && (level as number) >= 1 && (level as number) <= 19;
}

export function newRepositoryConfig(
  id: string,
  options: { chunker?: ChunkerParams; compressionLevel?: number; packSize?: number } = {},
): RepositoryConfig {
  const chunker = options.chunker ?? DEFAULT_CHUNKER;
  validateChunkerParams(chunker);
  const level = options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
  if (!validCompressionLevel(level))
    throw new LifeboatError(
      ErrorCode.Usage,
      `compression level must be a whole number from 1 to 19, got ${String(options.compressionLevel)}`,
    );
  return {
    version: REPOSITORY_FORMAT_VERSION,
    id,
    createdAt: new Date().toISOString(),
    chunker,
    compression: { codec: 'zstd', level },
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
  };
}

export function parseRepositoryConfig(plain: Buffer): RepositoryConfig {
  let value: unknown;
  try {
    value = JSON.parse(plain.toString('utf8'));
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, 'repository config is not valid JSON', { cause });
  }
  const c = value as Partial<RepositoryConfig>;
  if (typeof c !== 'object' || c === null || !Number.isInteger(c.version) || (c.version ?? 0) < 1) {
    throw new LifeboatError(ErrorCode.Corrupt, 'repository config has no version');
  }
  if ((c.version as number) > NEWEST_READABLE_VERSION) {
    throw new LifeboatError(
      ErrorCode.UnsupportedVersion,
      `repository format version ${c.version} is newer than this Lifeboat understands (${NEWEST_READABLE_VERSION})`,
      {
        hint: 'upgrade Lifeboat to read this repository',
      },
    );
  }
  if (typeof c.id !== 'string' || !c.chunker || !c.compression || typeof c.packSize !== 'number') {
    throw new LifeboatError(ErrorCode.Corrupt, 'repository config is missing fields');
  }
  try {
    validateChunkerParams(c.chunker);
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `repository config has invalid chunker parameters`, { cause });
  }
  if (c.compression.codec !== 'zstd' || !validCompressionLevel(c.compression.level)) {
    throw new LifeboatError(ErrorCode.Corrupt, 'repository config has invalid compression settings');
  }
  if (!Number.isInteger(c.packSize) || c.packSize < 4096 || c.packSize > 1024 ** 3)
    throw new LifeboatError(ErrorCode.Corrupt, 'repository config has an invalid pack size');
  return c as RepositoryConfig;
}
