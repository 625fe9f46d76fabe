import { State } from '../components/state';
import { CompareSnapshots } from '../components/compare';
import { RestoreForm } from '../components/restore-form';
import { TreeBrowser } from '../components/tree-browser';
import { bytes, duration, time } from '../format';
import { href } from '../router';
import type { SnapshotDetail } from '../types';
import { useApi } from '../use-api';

/** One snapshot: what it records, its tree (with downloads), a comparison with another, and a restore. */
export function SnapshotPage({ repository, id }: { repository: string; id: string }) {
  const snap = useApi<SnapshotDetail>(`/api/v1/snapshots/${encodeURIComponent(repository)}/${encodeURIComponent(id)}`);
  const s = snap.data;
  const record = (s?.metadata as { record?: Record<string, unknown> } | undefined)?.record;
  return (
    <>
      <p>
        <a href={href('snapshots')}>← Snapshots</a>
      </p>
      <h1>
        Snapshot <code>{id.slice(0, 12)}</code>
      </h1>
      <State loading={snap.loading} error={snap.error} />
      {s && (
        <>
          <dl class="facts">
            <div>
              <dt>Source</dt>
              <dd>{s.source ?? '—'}</dd>
            </div>
            <div>
              <dt>Repository</dt>
              <dd>{s.repository}</dd>
            </div>
            <div>
              <dt>Time</dt>
              <dd>{time(s.time)}</dd>
            </div>
            <div>
              <dt>Host</dt>
              <dd>{s.host}</dd>
            </div>
            <div>
              <dt>Reason</dt>
              <dd>{s.reason ?? '—'}</dd>
            </div>
            <div>
              <dt>Tags</dt>
              <dd>{s.tags.join(', ') || '—'}</dd>
            </div>
            <div>
              <dt>Files / dirs</dt>
              <dd>
                {s.summary.files} / {s.summary.dirs}
              </dd>
            </div>
            <div>
              <dt>Size</dt>
              <dd>{bytes(s.summary.bytes)}</dd>
            </div>
            <div>
              <dt>Added</dt>
              <dd>
                {bytes(s.summary.added_bytes)} ({bytes(s.summary.added_stored_bytes)} stored)
              </dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{duration(s.summary.duration_seconds)}</dd>
            </div>
            <div>
              <dt>Read errors</dt>
              <dd>{s.summary.errors}</dd>
            </div>
            <div>
              <dt>Parent</dt>
              <dd>
                {s.parent ? (
                  <a href={href('snapshots', s.repository, s.parent)}>
                    <code>{s.parent.slice(0, 8)}</code>
                  </a>
                ) : (
                  '—'
                )}
              </dd>
            </div>
          </dl>
          {record && Object.keys(record).length > 0 && (
            <details open>
              <summary>Recorded by the source (row counts, checksums, …)</summary>
              <pre class="record">{JSON.stringify(record, null, 2)}</pre>
            </details>
          )}
          <h2>Files</h2>
          <TreeBrowser repository={s.repository} id={s.id} />
          <h2>Compare</h2>
          <CompareSnapshots snapshot={s} />
          <h2>Restore</h2>
          <RestoreForm snapshot={s} />
        </>
      )}
    </>
  );
}
