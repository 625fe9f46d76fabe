/**
 * Holding still the containers that write to the volumes being copied:
 * stopped (`stop`, the default) or frozen (`pause`) for the copy, and put back
 * as they were afterwards whatever happened. Containers that were not running
 * are left alone, so one that was stopped stays stopped (docs/adr/0036).
 *
 * @module
 */

import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { track, type Tracked } from '../../leftovers/track.js';
import type { EngineApi } from './engine-api.js';
import { EngineApiError } from './engine-api.js';
import { containerName, type EngineContainer } from './volumes.js';

export type StopMode = 'stop' | 'pause' | 'none';

/** What was done to one container, as recorded in the snapshot. */
export interface ContainerAction {
  name: string;
  /** Its state when the backup began (`running`, `exited`, `paused`, …). */
  state: string;
  action: 'stopped' | 'paused' | 'left as it was';
}

export interface Held {
  containers: ContainerAction[];
  /** Start or unpause what was stopped or paused; tries every container, then fails naming those that did not come back. */
  resume(): Promise<void>;
}

export async function quiesce(
  api: EngineApi,
  containers: EngineContainer[],
  mode: StopMode,
  stopTimeoutSeconds: number,
  log: (line: string) => void,
): Promise<Held> {
  const actions: ContainerAction[] = [];
  const touched: Touched[] = [];
  const resume = () => resumeAll(api, touched, log);
  try {
    for (const c of containers) {
      const name = containerName(c);
      if (mode === 'none' || c.State !== 'running') {
        actions.push({ name, state: c.State, action: 'left as it was' });
        if (mode !== 'none') log(`container ${name} is ${c.State}: left as it was`);
        continue;
      }
      // Recorded before it is held: if this process is killed, the next run's sweep gives it back.
      const tracked = await track({
        kind: 'held-container',
        socket: path.resolve(api.socket),
        id: c.Id,
        name,
        action: mode === 'pause' ? 'paused' : 'stopped',
      });
      if (mode === 'pause') {
        await api.post(`/containers/${c.Id}/pause`).catch(async (err: unknown) => {
          await tracked.done();
          throw err;
        });
        touched.push({ id: c.Id, name, action: 'paused', tracked });
      } else {
        const stopped = await api.post(`/containers/${c.Id}/stop`, undefined, { t: String(stopTimeoutSeconds) }).then(
          () => true,
          async (err: unknown) => {
            await tracked.done();
            // 304: it stopped by itself since it was listed; not Lifeboat's to start again.
            if (err instanceof EngineApiError && err.status === 304) return false;
            throw err;
          },
        );
        if (!stopped) {
          actions.push({ name, state: 'exited', action: 'left as it was' });
          log(`container ${name} stopped by itself before the backup: left as it was`);
          continue;
        }
        touched.push({ id: c.Id, name, action: 'stopped', tracked });
      }
      actions.push({ name, state: c.State, action: touched[touched.length - 1]!.action });
      log(`container ${name} ${touched[touched.length - 1]!.action} for the backup`);
    }
  } catch (err) {
    const failed = containerName(containers[actions.length]!);
    try {
      await resume();
    } catch (resumeErr) {
      log(`after failing to hold ${failed}: ${(resumeErr as Error).message}`);
    }
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `could not ${mode} container ${failed}: ${(err as Error).message}; no snapshot saved`,
      { hint: 'containers already held were started again; check the container with `docker inspect`', cause: err },
    );
  }
  return { containers: actions, resume };
}

interface Touched {
  id: string;
  name: string;
  action: 'stopped' | 'paused';
  tracked: Tracked;
}

async function resumeAll(api: EngineApi, touched: Touched[], log: (line: string) => void): Promise<void> {
  const failures: string[] = [];
  // Reverse order: the last held is given back first.
  for (const t of [...touched].reverse()) {
    try {
      log(`${t.action === 'paused' ? 'unpausing' : 'starting'} container ${t.name}`);
      await api.post(`/containers/${t.id}/${t.action === 'paused' ? 'unpause' : 'start'}`);
      log(`container ${t.name} ${t.action === 'paused' ? 'unpaused' : 'started'} again`);
      await t.tracked.done();
    } catch (err) {
      const why = err instanceof EngineApiError ? err.engineMessage : (err as Error).message;
      failures.push(`${t.name}: ${why}`);
      log(`container ${t.name} could not be ${t.action === 'paused' ? 'unpaused' : 'started'} again: ${why}`);
    }
  }
  touched.length = 0;
  if (failures.length)
    throw new LifeboatError(
      ErrorCode.SourceFailed,
      `${failures.length} container(s) did not come back after the backup: ${failures.join('; ')}`,
      { hint: 'start them by hand (`docker start NAME`) and look at why they fail', context: { containers: failures } },
    );
}
