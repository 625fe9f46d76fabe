import { useState } from 'preact/hooks';
import { get, q } from '../api';
import { bytes, shortId, time } from '../format';
import type { SnapshotDetail, SnapshotDiff, SnapshotPage } from '../types';
import { useApi } from '../use-api';
import { Badge } from './badge';

const LEVEL = { added: 'ok', removed: 'bad', modified: 'warn', type: 'warn' } as const;

/** What changed between this snapshot and another of the same repository (by default its parent or the one before it). */
export function CompareSnapshots({ snapshot: s }: { snapshot: SnapshotDetail }) {
  const others = useApi<SnapshotPage>(
    `/api/v1/snapshots${q({ repository: s.repository, source: s.source, limit: 200 })}`,
  );
  const [diff, setDiff] = useState<SnapshotDiff | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const choices = (others.data?.snapshots ?? []).filter((o) => o.id !== s.id);
  const preset = s.parent ?? choices.find((o) => o.time < s.time)?.id ?? '';
  const run = async (e: Event) => {
    e.preventDefault();
    const other = String(new FormData(e.currentTarget as HTMLFormElement).get('other') ?? '');
    if (!other) return;
    setBusy(true);
    setError(undefined);
    try {
      setDiff(
        await get<SnapshotDiff>(
          `/api/v1/snapshots/${encodeURIComponent(s.repository)}/${encodeURIComponent(other)}/diff${q({ with: s.id })}`,
        ),
      );
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };
  if (others.data && choices.length === 0)
    return <p class="muted">No other snapshot of this source to compare with.</p>;
  return (
    <section aria-label="Compare snapshots">
      <form class="inline" onSubmit={run}>
        <label>
          Changes since
          <select name="other" key={preset} defaultValue={preset}>
            {choices.map((o) => (
              <option value={o.id}>
                {time(o.time)} · {shortId(o.id)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Comparing…' : 'Compare'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {diff && (
        <div aria-live="polite">
          <p>
            <Badge level="ok">{diff.counts.added ?? 0} added</Badge>{' '}
            <Badge level="bad">{diff.counts.removed ?? 0} removed</Badge>{' '}
            <Badge level="warn">{diff.counts.modified ?? 0} modified</Badge>{' '}
            {diff.counts.type ? <Badge level="warn">{diff.counts.type} changed type</Badge> : null}
          </p>
          {diff.truncated && <p class="muted">Showing the first {diff.limit} changes.</p>}
          {diff.changes.length > 0 && (
            <div class="table-wrap">
              <table class="diff">
                <thead>
                  <tr>
                    <th scope="col">Change</th>
                    <th scope="col">Path</th>
                    <th scope="col" class="num">
                      Before
                    </th>
                    <th scope="col" class="num">
                      After
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {diff.changes.map((c) => (
                    <tr>
                      <td>
                        <Badge level={LEVEL[c.change]}>{c.change}</Badge>
                      </td>
                      <td>
                        <code>{c.path}</code>
                      </td>
                      <td class="num">{c.type === 'dir' ? '' : bytes(c.size_before)}</td>
                      <td class="num">{c.type === 'dir' ? '' : bytes(c.size_after)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
