import { useState } from 'preact/hooks';
import { State } from '../components/state';
import { bytes, shortId, time } from '../format';
import { q } from '../api';
import { href } from '../router';
import type { RepositoryList, SnapshotPage, SourceList } from '../types';
import { useApi } from '../use-api';

const PAGE = 50;

interface Filters {
  source: string;
  repository: string;
  host: string;
  tag: string;
}

/** Snapshots newest first, filtered by the server and fetched a page at a time (cursor paging: thousands stay fast). */
export function Snapshots() {
  const [filters, setFilters] = useState<Filters>({ source: '', repository: '', host: '', tag: '' });
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useApi<SnapshotPage>(`/api/v1/snapshots${q({ ...filters, limit: PAGE, cursor })}`);
  const sources = useApi<SourceList>('/api/v1/sources');
  const repos = useApi<RepositoryList>('/api/v1/repositories');
  const apply = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setFilters({
      source: String(f.get('source') ?? ''),
      repository: String(f.get('repository') ?? ''),
      host: String(f.get('host') ?? '').trim(),
      tag: String(f.get('tag') ?? '').trim(),
    });
    setCursors([]);
  };
  return (
    <>
      <h1>Snapshots</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter snapshots">
        <label>
          Source
          <select name="source">
            <option value="">all</option>
            {sources.data?.sources.map((s) => (
              <option value={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
        <label>
          Repository
          <select name="repository">
            <option value="">all</option>
            {repos.data?.repositories.map((r) => (
              <option value={r.name}>{r.name}</option>
            ))}
          </select>
        </label>
        <label>
          Host
          <input name="host" placeholder="any" />
        </label>
        <label>
          Tag
          <input name="tag" placeholder="any" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <State loading={page.loading} error={page.error} />
      {page.data?.unreachable.map((u) => (
        <p class="error">
          {u.repository}: {u.error}
        </p>
      ))}
      {page.data?.unreadable?.map((u) => (
        <p class="error">
          {u.repository}: {u.object} left out: {u.error}
        </p>
      ))}
      {page.data && (
        <>
          <div class="table-wrap">
            <table class="snapshots">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Source</th>
                  <th scope="col">Repository</th>
                  <th scope="col">Host</th>
                  <th scope="col">Tags</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                  <th scope="col" class="num">
                    Added
                  </th>
                  <th scope="col">Id</th>
                </tr>
              </thead>
              <tbody>
                {page.data.snapshots.map((s) => (
                  <tr>
                    <td>
                      <a href={href('snapshots', s.repository, s.id)}>{time(s.time)}</a>
                    </td>
                    <td>{s.source ?? '—'}</td>
                    <td>{s.repository}</td>
                    <td>{s.host}</td>
                    <td>{s.tags.join(', ') || <span class="muted">—</span>}</td>
                    <td class="num">{bytes(s.summary.bytes)}</td>
                    <td class="num">{bytes(s.summary.added_bytes)}</td>
                    <td>
                      <code>{shortId(s.id)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {page.data.snapshots.length === 0 && <p class="muted">No snapshots match.</p>}
          <nav class="pager" aria-label="Pages">
            <button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <span class="muted">Page {cursors.length + 1}</span>
            <button
              disabled={!page.data.next_cursor}
              onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}
            >
              Older →
            </button>
          </nav>
        </>
      )}
    </>
  );
}
