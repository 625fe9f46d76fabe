import { procStat, processRuns } from './owner.js';
import type { ResourceOf } from './resource.js';
import { gone, kept, removed, type Removal, type RemovalContext } from './removal.js';

const STOP_WAIT_MS = 5_000;

/**
 * Stop a child a dead process left running (a throwaway server, a tool in its
 * own process group): only when it is still the recorded process (same pid
 * and start time), with SIGKILL to its group, waiting until it is gone.
 */
export async function removeProcess(r: ResourceOf<'process'>, ctx: Pick<RemovalContext, 'dryRun'>): Promise<Removal> {
  const hint = r.group ? `kill -9 -- -${r.pid}` : `kill -9 ${r.pid}`;
  if (!processRuns(r.pid, r.start)) return gone;
  if (r.start === null)
    return kept('its start time was not recorded, so it cannot be told from a new process with the same pid', hint);
  if (ctx.dryRun) return removed;
  const group = r.group && procStat(r.pid)?.pgrp === r.pid;
  try {
    process.kill(group ? -r.pid : r.pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return gone;
    return kept((err as Error).message, hint);
  }
  for (const until = Date.now() + STOP_WAIT_MS; Date.now() < until;) {
    if (!processRuns(r.pid, r.start)) return removed;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return kept(`still running ${STOP_WAIT_MS / 1000} s after SIGKILL`, hint);
}
