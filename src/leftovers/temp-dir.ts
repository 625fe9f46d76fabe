import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { currentOwner, ownerSchema, type Owner } from './owner.js';
import { track, type Tracked } from './track.js';

/** The file inside each of Lifeboat's private directories that says which process made it. */
export const OWNER_FILE = '.lifeboat-owner';

const ownerFileSchema = z.object({ format: z.literal(1), owner: ownerSchema });

export interface OwnedDir {
  path: string;
  /** Remove the directory and everything in it, then its record. */
  dispose: () => Promise<void>;
}

/**
 * A 0700 directory for one run (mkdtemp) with an owner file, so a sweep can
 * tell a killed process's directory from a live one's. The system temp
 * directory is searched by the sweep; a directory anywhere else (next to a
 * server's data, in a configured temp_dir) is also recorded in the ledger.
 */
export async function ownedTempDir(base: string = os.tmpdir(), prefix = 'lifeboat-'): Promise<OwnedDir> {
  const dir = await mkdtemp(path.join(base, prefix));
  let tracked: Tracked | undefined;
  try {
    await writeFile(path.join(dir, OWNER_FILE), `${JSON.stringify({ format: 1, owner: currentOwner() })}\n`, {
      mode: 0o600,
    });
    if (path.resolve(base) !== path.resolve(os.tmpdir()))
      tracked = await track({ kind: 'directory', path: path.resolve(dir) });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    path: dir,
    dispose: async () => {
      await rm(dir, { recursive: true, force: true });
      await tracked?.done();
    },
  };
}

/** The owner a directory's owner file names, or undefined when it has none (or it cannot be read). */
export async function dirOwner(dir: string): Promise<Owner | undefined> {
  const text = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = ownerFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.owner : undefined;
  } catch {
    return undefined;
  }
}
