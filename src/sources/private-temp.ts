import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A 0700 temp directory for one run, always removed by `dispose`. */
export async function privateTempDir(base: string = os.tmpdir(), prefix = 'lifeboat-'): Promise<{ path: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(base, prefix)); // mkdtemp creates 0700
  return { path: dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
