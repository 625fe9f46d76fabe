import { useMemo, useState } from 'preact/hooks';
import { Chart, type Series } from '../components/chart';
import { State } from '../components/state';
import { bytes, duration, shortDuration } from '../format';
import type { SourceHistory, SourceList } from '../types';
import { useApi } from '../use-api';

/** Data age over time: zero at each good backup, growing until the next; ends now. */
export function agePoints(goodTimes: number[], now: number): { x: number[]; age: number[] } {
  const x: number[] = [];
  const age: number[] = [];
  for (let i = 0; i < goodTimes.length; i++) {
    const t = goodTimes[i]!;
    const end = goodTimes[i + 1] ?? now;
    x.push(t, end);
    age.push(0, end - t);
  }
  return { x, age };
}

/** Per source: backup size and added bytes, duration, and data age against the RPO, from the run history. */
export function Charts() {
  const sources = useApi<SourceList>('/api/v1/sources');
  const [chosen, setChosen] = useState<string | undefined>();
  const source = chosen ?? sources.data?.sources[0]?.name;
  const hist = useApi<SourceHistory>(source ? `/api/v1/sources/${encodeURIComponent(source)}/history?limit=500` : null);
  const data = useMemo(() => {
    if (!hist.data) return undefined;
    const done = [...hist.data.backups].reverse().filter((b) => b.outcome === 'ok' || b.outcome === 'partial');
    const x = done.map((b) => Date.parse(b.started_at) / 1000);
    const sizes: Series[] = [
      { label: 'size', values: done.map((b) => b.bytes), color: '#2563eb' },
      { label: 'added', values: done.map((b) => b.added_bytes), color: '#16a34a' },
    ];
    const durations: Series[] = [{ label: 'duration', values: done.map((b) => b.duration_seconds), color: '#9333ea' }];
    const a = agePoints(x, Date.now() / 1000);
    const ages: Series[] = [
      { label: 'data age', values: a.age, color: '#ea580c' },
      { label: 'RPO', values: a.x.map(() => hist.data!.rpo_seconds), color: '#dc2626', dash: [6, 4] },
    ];
    return { x, sizes, durations, ageX: a.x, ages };
  }, [hist.data]);
  return (
    <>
      <h1>Charts</h1>
      <State loading={sources.loading} error={sources.error} />
      {sources.data && (
        <label class="inline-label">
          Source{' '}
          <select value={source} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
            {sources.data.sources.map((s) => (
              <option value={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
      )}
      <State loading={hist.loading && !hist.data} error={hist.error} />
      {data && (
        <div class="charts">
          <Chart title={`Backup size and added bytes · ${source}`} x={data.x} series={data.sizes} format={bytes} />
          <Chart
            title={`Duration · ${source}`}
            x={data.x}
            series={data.durations}
            format={duration}
            axis={shortDuration}
          />
          <Chart
            title={`Data age against RPO · ${source}`}
            x={data.ageX}
            series={data.ages}
            format={duration}
            axis={shortDuration}
          />
        </div>
      )}
    </>
  );
}
