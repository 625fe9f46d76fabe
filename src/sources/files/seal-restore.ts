import { closeSync, fchmodSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { Repository } from '../../repository/repository.js';
import { type SnapshotEntry, isSafeName } from '../../repository/format/index.js';
import { RestoreTarget } from '../../restorer/target.js';
import { nativeFs, splitNs } from '../../util/native-fs.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { unsealStream } from './seal.js';

const writeFd = promisify(write);

/** What a sealed files record holds for each file; `mtimeNs` since sealed directories and times are recorded. */
export interface SealedEntry {
  path: string;
  mode: number;
  size: number;
  mtimeNs?: string;
}

/** A directory walked by a sealed capture: its mode and time are restored after its files. */
export interface SealedDir {
  path: string;
  mode: number;
  mtimeNs: string;
}

/**
 * Unseal every recorded file into `target`, below the same directories
 * descriptors a plain restore uses (nothing is resolved by path, nothing is
 * followed through a symlink). Each file is written beside its final name and
 * renamed over it once complete, with its recorded mode and mtime; then the
 * recorded directories get their mode and mtime, deepest first. Snapshots
 * made before directories and times were recorded restore files with their
 * mode only (mtime = restore time, directories 0700).
 */
export async function restoreSealed(
  repo: Repository,
  snapshot: SnapshotEntry,
  root: string,
  entries: SealedEntry[],
  dirs: SealedDir[],
  identities: string[],
  suffix: string,
): Promise<void> {
  const target = await RestoreTarget.open(root);
  try {
    for (const entry of entries) {
      const parts = safeParts(entry.path);
      for (let i = 1; i < parts.length; i++) {
        const dir = '/' + parts.slice(0, i).join('/');
        if (!target.isMade(dir)) target.makeDirectory(dir);
      }
      const stored = entry.path + suffix;
      const node = await snapshotFileNode(repo, snapshot, stored);
      await writeUnsealed(
        target,
        '/' + parts.join('/'),
        unsealStream(readSnapshotFile(repo, node, stored), identities, entry.path),
        entry,
      );
    }
    for (const d of [...dirs].sort((a, b) => b.path.split('/').length - a.path.split('/').length)) {
      const p = '/' + safeParts(d.path).join('/');
      if (!target.isMade(p)) target.makeDirectory(p);
      const lease = target.lease(p);
      try {
        fchmodSync(lease.fd, d.mode & 0o7777);
        const { sec, nsec } = splitNs(d.mtimeNs);
        nativeFs().setTimes(lease.fd, sec, nsec);
      } finally {
        lease.release();
      }
    }
  } finally {
    target.close();
  }
}

function safeParts(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  if (parts.length === 0 || !parts.every(isSafeName))
    throw new LifeboatError(ErrorCode.UnsafePath, `${JSON.stringify(p)} would be written outside the target; refused`);
  return parts;
}

async function writeUnsealed(
  target: RestoreTarget,
  p: string,
  data: AsyncIterable<Uint8Array>,
  entry: SealedEntry,
): Promise<void> {
  const native = nativeFs();
  const temp = `.${p.split('/').pop()}.lifeboat-${process.pid}`;
  const tempPath = p.slice(0, p.lastIndexOf('/') + 1) + temp;
  const fd = target.inParent(tempPath, (dirFd, name) => native.createFileAt(dirFd, name, 0o600));
  let open = true;
  let done = false;
  try {
    for await (const chunk of data) {
      for (let off = 0; off < chunk.length;) off += (await writeFd(fd, chunk, off, chunk.length - off)).bytesWritten;
    }
    fchmodSync(fd, entry.mode & 0o7777);
    if (entry.mtimeNs) {
      const { sec, nsec } = splitNs(entry.mtimeNs);
      native.setTimes(fd, sec, nsec);
    }
    open = false;
    closeSync(fd);
    target.inParent(tempPath, (dirFd, name) => native.renameAt(dirFd, name, p.split('/').pop()!));
    done = true;
  } finally {
    if (open) closeSync(fd);
    // A failed unseal never leaves half a file: the temporary goes, what was at the final name stays.
    if (!done) target.inParent(tempPath, (dirFd, name) => native.removeAt(dirFd, name));
  }
}
