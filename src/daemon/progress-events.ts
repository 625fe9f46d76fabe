import type { BackupProgress } from '../archiver/progress.js';
import type { EventHub } from './events.js';

/**
 * Live progress of a backup step as `step.progress` events: files and bytes
 * read so far, bytes new to the repository, the totals when estimated and
 * the average rate since the step started. One event at once, one every
 * `intervalMs` while it runs and one when it ends, so even a quick step
 * shows its final counts.
 */
export function backupProgressPublisher(events: EventHub, job: string, runId: string, intervalMs = 500) {
  return (step: { source: string; repository: string }, p: BackupProgress): (() => void) => {
    const started = Date.now();
    const tick = () => {
      const seconds = (Date.now() - started) / 1000;
      events.publish('step.progress', {
        job,
        run_id: runId,
        step: 'backup',
        source: step.source,
        repository: step.repository,
        phase: p.phase,
        files: p.filesDone,
        bytes: p.bytesDone,
        added_bytes: p.bytesAdded,
        total_files: p.totalFiles ?? null,
        total_bytes: p.totalBytes ?? null,
        bytes_per_second: seconds > 0 ? Math.round(p.bytesDone / seconds) : 0,
        elapsed_seconds: seconds,
      });
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      tick();
    };
  };
}
