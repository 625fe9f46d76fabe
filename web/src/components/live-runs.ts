import { useEffect, useState } from 'preact/hooks';
import { subscribe } from '../events';
import type { DaemonEvent } from '../types';

export interface LiveRun {
  runId: string;
  job: string;
  state: 'running' | string;
  step?: string;
  source?: string;
  files: number;
  bytes: number;
  addedBytes: number;
  rate: number;
  steps: number;
}

/** Runs seen on the event stream since the page opened, newest first, with the latest progress of each. */
export function useLiveRuns(onFinished?: (job: string) => void): { runs: LiveRun[]; connected: boolean } {
  const [runs, setRuns] = useState<LiveRun[]>([]);
  const [connected, setConnected] = useState(false);
  useEffect(
    () =>
      subscribe((e: DaemonEvent) => {
        const runId = typeof e.run_id === 'string' ? e.run_id : undefined;
        if (!runId || typeof e.job !== 'string') return;
        const job = e.job;
        setRuns((all) => {
          const cur = all.find((r) => r.runId === runId) ?? {
            runId,
            job,
            state: 'running',
            files: 0,
            bytes: 0,
            addedBytes: 0,
            rate: 0,
            steps: 0,
          };
          const next = { ...cur };
          if (e.type === 'step.started')
            Object.assign(next, { step: e.step, source: e.source ?? undefined, files: 0, bytes: 0, rate: 0 });
          if (e.type === 'step.progress')
            Object.assign(next, {
              step: 'backup',
              source: e.source,
              files: e.files,
              bytes: e.bytes,
              addedBytes: e.added_bytes,
              rate: e.bytes_per_second,
            });
          if (e.type === 'step.finished') next.steps++;
          if (e.type === 'run.finished') next.state = String(e.outcome ?? 'finished');
          return [next, ...all.filter((r) => r.runId !== runId)].slice(0, 20);
        });
        if (e.type === 'run.finished') onFinished?.(job);
      }, setConnected),
    [],
  );
  return { runs, connected };
}
