import { useState } from 'preact/hooks';
import { download, q } from '../api';
import { bytes, time } from '../format';
import type { TreeEntry, TreeListing } from '../types';
import { useApi } from '../use-api';
import { State } from './state';

const SHOWN = 300;

/** Browse a snapshot's tree one directory at a time; download single files (checked against their recorded hash on the server). */
export function TreeBrowser({ repository, id }: { repository: string; id: string }) {
  const [dir, setDir] = useState('/');
  const [limit, setLimit] = useState(SHOWN);
  const [note, setNote] = useState<string | undefined>();
  const base = `/api/v1/snapshots/${encodeURIComponent(repository)}/${encodeURIComponent(id)}`;
  const tree = useApi<TreeListing>(`${base}/tree${q({ path: dir })}`);
  const go = (p: string) => (setDir(p), setLimit(SHOWN), setNote(undefined));
  const parts = dir.split('/').filter(Boolean);
  const get = async (e: TreeEntry) => {
    setNote(`Downloading ${e.path}…`);
    try {
      const n = await download(`${base}/file${q({ path: e.path })}`, e.name);
      setNote(`Downloaded ${e.path} (${bytes(n)}).`);
    } catch (err) {
      setNote(`Download failed: ${(err as Error).message}`);
    }
  };
  return (
    <section class="tree" aria-label="Snapshot files">
      <nav class="crumbs" aria-label="Directory">
        <button class="link" onClick={() => go('/')}>
          /
        </button>
        {parts.map((p, i) => (
          <>
            <button class="link" onClick={() => go(`/${parts.slice(0, i + 1).join('/')}`)}>
              {p}
            </button>
            {i < parts.length - 1 && <span aria-hidden="true">/</span>}
          </>
        ))}
      </nav>
      <State loading={tree.loading} error={tree.error} />
      {tree.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col">Modified</th>
                <th scope="col">
                  <span class="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {dir !== '/' && (
                <tr>
                  <td colSpan={4}>
                    <button class="link" onClick={() => go(`/${parts.slice(0, -1).join('/')}`)}>
                      ↑ parent directory
                    </button>
                  </td>
                </tr>
              )}
              {tree.data.entries.slice(0, limit).map((e) => (
                <tr data-path={e.path}>
                  <td>
                    {e.type === 'dir' ? (
                      <button class="link dir" onClick={() => go(e.path)}>
                        {e.name}/
                      </button>
                    ) : (
                      <span>
                        {e.name}
                        {e.type !== 'file' && <span class="muted"> ({e.type})</span>}
                      </span>
                    )}
                  </td>
                  <td class="num">{e.type === 'dir' ? '' : bytes(e.size)}</td>
                  <td>{time(e.mtime)}</td>
                  <td>
                    {(e.type === 'file' || e.type === 'stream') && (
                      <button class="small" onClick={() => void get(e)} aria-label={`Download ${e.name}`}>
                        Download
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {tree.data.entries.length > limit && (
            <button onClick={() => setLimit(limit + SHOWN)}>Show more ({tree.data.entries.length - limit} left)</button>
          )}
          {tree.data.entries.length === 0 && <p class="muted">Empty directory.</p>}
        </div>
      )}
      {note && <p role="status">{note}</p>}
    </section>
  );
}
