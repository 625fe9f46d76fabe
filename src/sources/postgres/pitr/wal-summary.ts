import { spawn } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ownedTempDir } from '../../../leftovers/temp-dir.js';
import { childEnv } from '../../child-process.js';
import { pgTool } from '../connection.js';

/**
 * What a segment holds that a restore to a time or a restore point needs to
 * know in advance: the times of its first and last transaction end (commit
 * or abort: recovery_target_time stops at the first one past the target) and
 * the restore points created in it. Read with pg_waldump of the source's
 * `bin_dir`, limited to the Transaction and XLOG resource managers.
 */
export interface SegmentSummary {
  /** pg_waldump read the segment (absent: the fields below are unknown, not empty). */
  summarized?: boolean;
  firstXactEnd?: string;
  lastXactEnd?: string;
  restorePoints?: string[];
}

const XACT = /desc: (?:COMMIT|ABORT|COMMIT_PREPARED|ABORT_PREPARED) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/;
const RESTORE_POINT = /desc: RESTORE_POINT (.*)$/;

/**
 * The summary of one segment file, or undefined when pg_waldump cannot be run
 * (the restore then plans by archive times). `segment` names the segment when
 * the file is named otherwise (a `.partial` copy): pg_waldump reads the
 * timeline and position from the file name, so it is shown a link of that name.
 */
export async function summarizeSegment(
  file: string,
  binDir?: string,
  segment?: string,
): Promise<SegmentSummary | undefined> {
  if (!segment || path.basename(file) === segment) return waldump(file, binDir);
  const temp = await ownedTempDir(os.tmpdir(), 'lifeboat-waldump-');
  try {
    await symlink(path.resolve(file), path.join(temp.path, segment));
    return await waldump(path.join(temp.path, segment), binDir);
  } finally {
    await temp.dispose();
  }
}

function waldump(file: string, binDir?: string): Promise<SegmentSummary | undefined> {
  return new Promise((resolve) => {
    let child;
    try {
      // pg_waldump reports an error at the zero-filled end of a switched segment: what it printed before is still right.
      child = spawn(pgTool('pg_waldump', binDir), ['--rmgr=Transaction', '--rmgr=XLOG', file], {
        env: childEnv({ TZ: 'UTC' }),
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      resolve(undefined);
      return;
    }
    const summary: SegmentSummary = { summarized: true };
    let rest = '';
    let failed = false;
    const line = (l: string) => {
      // Most lines are full-page images: skip them before running the expressions.
      if (!l.startsWith('rmgr: Transaction') && !l.includes('RESTORE_POINT')) return;
      const x = XACT.exec(l);
      if (x) {
        const t = new Date(`${x[1]!.replace(' ', 'T')}Z`).toISOString();
        summary.firstXactEnd ??= t;
        summary.lastXactEnd = t;
        return;
      }
      const r = RESTORE_POINT.exec(l);
      if (r) (summary.restorePoints ??= []).push(r[1]!);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      lines.forEach(line);
    });
    child.once('error', () => {
      failed = true;
    });
    child.once('close', () => {
      if (rest) line(rest);
      resolve(failed ? undefined : summary);
    });
  });
}
