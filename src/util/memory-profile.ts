/**
 * How much memory a process may use for speed: `default`, or `low` for small
 * machines (512 MB). Chosen once per process (`--memory`, `LIFEBOAT_MEMORY`)
 * and read where the backup pipeline sizes its threads and windows.
 *
 * @module
 */

import v8 from 'node:v8';
import os from 'node:os';
import { ErrorCode, LifeboatError } from '../errors/index.js';

export const MEMORY_PROFILES = ['default', 'low'] as const;
export type MemoryProfile = (typeof MEMORY_PROFILES)[number];

/** The sizes a profile gives the backup pipeline. */
export interface MemoryLimits {
  /** Worker threads that read, chunk, compress and seal. */
  workerThreads: number;
  /** Bytes of file content read or sealed and not yet stored, at most. */
  inFlightBytes: number;
  /** Directory entries examined or read at a time. */
  entriesInFlight: number;
  /** Finished packs being written to storage at a time. */
  packUploads: number;
  /**
   * Young generation of each worker thread's heap, in MB. Workers allocate few
   * JavaScript objects, so with V8's default size they rarely collect and keep
   * the buffers they were done with (pack ranges, payloads) alive for long:
   * 6 MB lowered a full restore's peak from ~395 to ~302 MB and a full
   * backup's by 20–30 MB, at the same CPU (docs/performance.md, "Memory").
   */
  workerYoungGenerationMb: number;
}

const LIMITS: Record<MemoryProfile, () => MemoryLimits> = {
  // One thread more than there are cores: workers read small files with blocking calls, and the
  // extra thread keeps the cores busy while one waits on the disk (3 beat 2 and 4 on 2 cores).
  default: () => ({
    workerThreads: Math.min(os.availableParallelism(), 8) + 1,
    inFlightBytes: 64 * 1024 * 1024,
    entriesInFlight: 1024,
    packUploads: 2,
    workerYoungGenerationMb: 6,
  }),
  low: () => ({
    workerThreads: 1,
    inFlightBytes: 16 * 1024 * 1024,
    entriesInFlight: 64,
    packUploads: 1,
    workerYoungGenerationMb: 6,
  }),
};

let current: MemoryProfile = 'default';

/** `value` as a profile; anything else is a usage error naming `from` (the flag or variable). */
export function parseMemoryProfile(value: string, from: string): MemoryProfile {
  const v = value.trim().toLowerCase();
  if ((MEMORY_PROFILES as readonly string[]).includes(v)) return v as MemoryProfile;
  throw new LifeboatError(ErrorCode.Usage, `${from}: unknown memory profile ${JSON.stringify(value)}`, {
    hint: `use one of: ${MEMORY_PROFILES.join(', ')} (low: for machines with about 512 MB)`,
  });
}

/**
 * Use `profile` for the rest of the process. `low` also makes the main
 * thread's garbage collector keep its heap closer to the live data (the heap
 * grows by at most half of it between full collections instead of up to 4×).
 */
export function setMemoryProfile(profile: MemoryProfile): void {
  current = profile;
  if (profile === 'low') v8.setFlagsFromString('--heap-growing-percent=50');
}

export function memoryProfile(): MemoryProfile {
  return current;
}

export function memoryLimits(profile: MemoryProfile = current): MemoryLimits {
  return LIMITS[profile]();
}
