/**
 * What a volume record counts: the regular files below a directory and their
 * bytes, measured the same way on the original volume and on a restored copy.
 *
 * @module
 */

import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export async function countFiles(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        files++;
        bytes += (await lstat(p)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}
