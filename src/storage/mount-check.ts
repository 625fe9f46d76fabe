/**
 * Whether a removable-media repository's drive is connected: a file system
 * other than the root one must be mounted at the repository path or above it.
 * Writing into an empty mount point would silently fill the root disk and give
 * a "backup" that vanishes when the drive is plugged in.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';

export interface MountInfo {
  /** Mount points, from /proc/self/mountinfo (field 5). */
  mountPoints: string[];
}

export function readMounts(file = '/proc/self/mountinfo'): MountInfo {
  const text = readFileSync(file, 'utf8');
  const mountPoints = text
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''));
  return { mountPoints };
}

/** `\040` and friends in mountinfo paths. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The mount point that holds `target` (the longest mount point that is a prefix of it). */
export function mountPointOf(target: string, mounts: MountInfo): string {
  const abs = path.resolve(target);
  let best = '/';
  for (const m of mounts.mountPoints) {
    if ((abs === m || abs.startsWith(m === '/' ? '/' : `${m}/`)) && m.length > best.length) best = m;
  }
  return best;
}

/**
 * Connected when `mountPoint` (if configured) is a mount point holding the
 * target; otherwise when the target lies on any file system but the root one.
 */
export function isConnected(target: string, mounts: MountInfo = readMounts(), mountPoint?: string): boolean {
  const holder = mountPointOf(target, mounts);
  if (mountPoint)
    return holder === path.resolve(mountPoint) || (holder !== '/' && holder.startsWith(path.resolve(mountPoint) + '/'));
  return holder !== '/';
}

/** Refuse to use a `require_mount` repository whose file system is not mounted. */
export function assertConnected(name: string, url: string, mountPoint?: string, mounts?: MountInfo): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) return; // remote: nothing to mount
  const dir = url.startsWith('file://') ? new URL(url).pathname : url;
  if (!isConnected(dir, mounts ?? readMounts(), mountPoint)) {
    throw new LifeboatError(
      ErrorCode.NotConnected,
      `repository "${name}" is not connected: no file system is mounted at ${mountPoint ?? `${dir} or above it`}`,
      {
        hint: "plug in and mount the drive; require_mount keeps backups from filling the root disk's empty mount point",
      },
    );
  }
}
