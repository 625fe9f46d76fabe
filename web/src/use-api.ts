import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** GET an API path (null: nothing yet) and keep the answer; `reload` fetches again. */
export function useApi<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    setLoading(true);
    get<T>(path, abort.signal).then(
      (v) => (setData(v), setError(undefined), setLoading(false)),
      (e: Error) => {
        if (abort.signal.aborted) return;
        setError(e.message);
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [path, tick]);
  useEffect(() => {
    if (!refreshMs) return;
    const t = setInterval(reload, refreshMs);
    return () => clearInterval(t);
  }, [refreshMs, reload]);
  return { data, error, loading, reload };
}
