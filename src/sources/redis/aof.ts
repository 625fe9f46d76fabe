import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Mount } from '../../archiver/virtual-root.js';
import type { RespConnection } from './resp-connection.js';
import { ReplyError } from './resp-connection.js';
import { configGet } from './server-info.js';

/** Where the AOF lives inside the snapshot. */
export const AOF_SNAPSHOT_PATH = '/redis/appendonly';

/** What the record says about the AOF. */
export interface AofRecord {
  stored: boolean;
  /** Why it was not stored. */
  reason?: string;
  /** `directory`: Redis 7 multi-part AOF (`appenddirname`); `file`: one appendonly.aof (older servers). */
  layout?: 'directory' | 'file';
  /** The directory's or the file's name inside the server's `dir`. */
  name?: string;
  /** The files found when the backup started, with their sizes then. */
  files?: { name: string; bytes: number }[];
}

/**
 * Whether and how to store the server's AOF: only when it uses one and its
 * data directory is on this host. "On this host" is proven by the server's own
 * process: /proc/<process_id>/cwd is its `dir` (Redis changes into it), which
 * fails for a server on another machine or in a container.
 */
export async function planAof(
  connection: RespConnection,
  processId: string | undefined,
  wanted: boolean,
): Promise<{ mount?: Mount; record: AofRecord }> {
  const skip = (reason: string) => ({ record: { stored: false, reason } });
  if (!wanted) return skip('not wanted (aof: false)');
  const appendonly = await configGet(connection, 'appendonly');
  if (appendonly instanceof ReplyError)
    return skip(`CONFIG GET is not allowed for this user (${appendonly.message}); the RDB is the consistent copy`);
  if (appendonly !== 'yes') return skip('the server keeps no AOF (appendonly no)');
  const dir = await configGet(connection, 'dir');
  const dirname = await configGet(connection, 'appenddirname');
  const filename = await configGet(connection, 'appendfilename');
  if (typeof dir !== 'string') return skip('the server did not tell its data directory');
  if (!(await isServerDirectory(processId, dir)))
    return skip(
      `the server's data directory ${dir} is not on this host (or not readable here); the RDB is the consistent copy`,
    );
  try {
    if (typeof dirname === 'string' && dirname) {
      const from = path.join(dir, dirname);
      const names = (await readdir(from)).sort();
      const files = await Promise.all(
        names.map(async (name) => ({ name, bytes: (await stat(path.join(from, name))).size })),
      );
      return {
        mount: { from, at: AOF_SNAPSHOT_PATH },
        record: { stored: true, layout: 'directory', name: dirname, files },
      };
    }
    const name = typeof filename === 'string' && filename ? filename : 'appendonly.aof';
    const from = path.join(dir, name);
    const bytes = (await stat(from)).size;
    return {
      mount: { from, at: `${AOF_SNAPSHOT_PATH}/${name}` },
      record: { stored: true, layout: 'file', name, files: [{ name, bytes }] },
    };
  } catch (err) {
    return skip(`the AOF in ${dir} cannot be read here: ${(err as Error).message}`);
  }
}

async function isServerDirectory(processId: string | undefined, dir: string): Promise<boolean> {
  if (!processId || !/^\d+$/.test(processId)) return false;
  try {
    const [cwd, real] = await Promise.all([readlink(`/proc/${processId}/cwd`), realpath(dir)]);
    return cwd === real;
  } catch {
    return false;
  }
}
