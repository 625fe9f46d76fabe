import { lstat, readdir } from 'node:fs/promises';
import { compileExcludes } from './excludes.js';
import type { BackupProgress } from './progress.js';

/** Count files and bytes of the inputs (for an ETA), alongside the backup itself. */
export async function scanTotals(
  paths: readonly string[],
  excludes: readonly string[],
  progress: BackupProgress,
): Promise<void> {
  const excluded = compileExcludes(excludes);
  let files = 0;
  let bytes = 0;
  const visit = async (p: string): Promise<void> => {
    if (excluded(p)) return;
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      const names = await readdir(p).catch(() => [] as string[]);
      for (const n of names) await visit(p === '/' ? `/${n}` : `${p}/${n}`);
    } else if (st.isFile()) {
      files++;
      bytes += st.size;
    }
  };
  for (const p of paths) await visit(p);
  progress.totalFiles = files;
  progress.totalBytes = bytes;
}
