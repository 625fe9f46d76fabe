import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api';
import { bytes, shortId, time } from '../format';
import { subscribe } from '../events';
import type { RestorePlan, RestoreRequest, RestoreStarted, RestoreStatus, SnapshotDetail } from '../types';
import { Badge, outcomeLevel } from './badge';

/**
 * A restore to a directory on the server, in two steps: the server's plan
 * (exactly what would be written where, nothing written), then an explicit
 * confirmation naming it. The target must be absent or empty.
 */
export function RestoreForm({ snapshot: s }: { snapshot: SnapshotDetail }) {
  const [plan, setPlan] = useState<RestorePlan | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [started, setStarted] = useState<string | undefined>();
  const [status, setStatus] = useState<RestoreStatus | undefined>();
  useEffect(() => {
    if (!started) return;
    const poll = () => get<RestoreStatus>(`/api/v1/restores/${started}`).then(setStatus, () => undefined);
    void poll();
    const stop = subscribe((e) => e.restore_id === started && void poll());
    return stop;
  }, [started]);
  const ask = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setError(undefined);
    setPlan(undefined);
    try {
      setPlan(
        await post<RestorePlan>('/api/v1/restores/plan', {
          repository: s.repository,
          snapshot: s.id,
          path: String(f.get('path') ?? '/') || '/',
          target: String(f.get('target') ?? ''),
        } satisfies RestoreRequest),
      );
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const confirm = async () => {
    if (!plan) return;
    try {
      const r = await post<RestoreStarted>('/api/v1/restores', {
        repository: plan.repository,
        snapshot: plan.snapshot,
        path: plan.path,
        target: plan.target,
      } satisfies RestoreRequest);
      setStarted(r.restore_id);
      setPlan(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section aria-label="Restore">
      <form class="inline" onSubmit={ask}>
        <label>
          Path in the snapshot
          <input name="path" defaultValue="/" required />
        </label>
        <label>
          Into directory on the server (new or empty)
          <input name="target" placeholder="/srv/restore/2024-05-01" required />
        </label>
        <button type="submit">Review restore…</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {plan && (
        <div class="confirm" role="alertdialog" aria-labelledby="restore-confirm">
          <p id="restore-confirm">
            Restore <code>{plan.path}</code> of snapshot <code>{shortId(plan.snapshot)}</code> (
            {s.source ?? 'no source'}, {time(s.time)}) from repository <strong>{plan.repository}</strong> into{' '}
            <code>{plan.target}</code> on the server: <strong>{plan.files}</strong> file{plan.files === 1 ? '' : 's'},{' '}
            {plan.dirs} director{plan.dirs === 1 ? 'y' : 'ies'}, {plan.symlinks} symlink{plan.symlinks === 1 ? '' : 's'}
            , <strong>{bytes(plan.bytes)}</strong>. Nothing existing is overwritten.
          </p>
          {plan.refused.length > 0 && (
            <p class="error">
              {plan.refused.length} entr{plan.refused.length === 1 ? 'y' : 'ies'} would be refused (unsafe paths).
            </p>
          )}
          <button onClick={() => void confirm()}>
            Restore {plan.files} file{plan.files === 1 ? '' : 's'} into {plan.target}
          </button>{' '}
          <button class="ghost" onClick={() => setPlan(undefined)}>
            Cancel
          </button>
        </div>
      )}
      {started && status && (
        <p role="status">
          Restore <Badge level={outcomeLevel(status.status)}>{status.status}</Badge> {status.files}/{status.total_files}{' '}
          files, {bytes(status.bytes)} of {bytes(status.total_bytes)}
          {status.errors.length > 0 &&
            ` · ${status.errors.length} error(s): ${status.errors.map((x) => `${x.path}: ${x.message}`).join('; ')}`}
        </p>
      )}
    </section>
  );
}
