import { useState } from 'preact/hooks';
import { post } from '../api';
import { Badge, Outcome, outcomeLevel } from '../components/badge';
import { useLiveRuns } from '../components/live-runs';
import { State } from '../components/state';
import { ago, bytes, duration, time } from '../format';
import type { JobList, RunList, RunStarted } from '../types';
import { useApi } from '../use-api';

/** Jobs: run now, live progress from the event stream, and each job's history. */
export function Jobs() {
  const jobs = useApi<JobList>('/api/v1/jobs', 15_000);
  const [selected, setSelected] = useState<string | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const job = selected ?? jobs.data?.jobs[0]?.name;
  const runs = useApi<RunList>(job ? `/api/v1/jobs/${encodeURIComponent(job)}/runs?limit=50` : null);
  const live = useLiveRuns(() => (jobs.reload(), runs.reload()));
  const start = async (name: string) => {
    setMessage(undefined);
    try {
      const r = await post<RunStarted>(`/api/v1/jobs/${encodeURIComponent(name)}/run`);
      setMessage(`Started ${name} (run ${r.run_id}).`);
      jobs.reload();
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <>
      <h1>Jobs</h1>
      <State loading={jobs.loading && !jobs.data} error={jobs.error} />
      {message && <p role="status">{message}</p>}
      <div class="table-wrap">
        <table class="jobs stack">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Schedule</th>
              <th scope="col">Next run</th>
              <th scope="col">Last run</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.data?.jobs.map((j) => (
              <tr data-job={j.name}>
                <th scope="row">{j.name}</th>
                <td data-label="Schedule">
                  {j.schedule ? <code>{j.schedule}</code> : <span class="muted">on demand</span>}
                </td>
                <td data-label="Next run">{j.next_run ? time(j.next_run) : '—'}</td>
                <td data-label="Last run">
                  {j.running ? (
                    <Badge level="warn">running</Badge>
                  ) : j.last_run ? (
                    <>
                      <Outcome value={j.last_run.outcome} /> <span class="muted">{ago(j.last_run.started_at)}</span>
                    </>
                  ) : (
                    <span class="muted">never</span>
                  )}
                </td>
                <td class="actions">
                  <button
                    onClick={() => void start(j.name)}
                    disabled={j.running !== null}
                    aria-label={`Run ${j.name} now`}
                  >
                    Run now
                  </button>{' '}
                  <button
                    class="ghost"
                    onClick={() => setSelected(j.name)}
                    aria-pressed={job === j.name}
                    aria-label={`Show history of ${j.name}`}
                  >
                    History
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Live</h2>
      <p class="muted" aria-live="polite">
        {live.connected ? 'Connected to the event stream.' : 'Connecting to the event stream…'}
      </p>
      {live.runs.length === 0 ? (
        <p class="muted">No run since this page opened.</p>
      ) : (
        <ul class="live plain" aria-live="polite">
          {live.runs.map((r) => (
            <li data-run={r.runId} data-state={r.state}>
              <strong>{r.job}</strong>{' '}
              <Badge level={r.state === 'running' ? 'warn' : outcomeLevel(r.state)}>{r.state}</Badge>{' '}
              <span class="progress">
                {r.step ? `${r.step}${r.source ? ` ${r.source}` : ''}: ` : ''}
                {r.files} files, {bytes(r.bytes)} read, {bytes(r.addedBytes)} new, {bytes(r.rate)}/s
              </span>{' '}
              <span class="muted">
                · {r.steps} step{r.steps === 1 ? '' : 's'} done
              </span>
            </li>
          ))}
        </ul>
      )}

      <h2>History{job ? ` of ${job}` : ''}</h2>
      <State loading={runs.loading && !runs.data} error={runs.error} />
      {runs.data && (
        <div class="table-wrap">
          <table class="runs stack">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Outcome</th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col" class="num">
                  Added
                </th>
                <th scope="col">Steps</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.runs.map((r) => (
                <tr data-run={r.id}>
                  <td data-label="Started">{time(r.started_at)}</td>
                  <td data-label="Outcome">
                    <Outcome value={r.outcome} />
                    {r.error && <div class="muted small">{r.error}</div>}
                  </td>
                  <td class="num" data-label="Duration">
                    {r.finished_at ? duration((Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000) : '…'}
                  </td>
                  <td class="num" data-label="Added">
                    {bytes(r.steps.reduce((n, s) => n + (s.added_bytes ?? 0), 0))}
                  </td>
                  <td data-label="Steps">
                    {r.steps.map((s) => (
                      <span class="step">
                        {s.step}
                        {s.source ? `:${s.source}` : ''} <Outcome value={s.outcome} />
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {runs.data.runs.length === 0 && <p class="muted">No runs yet.</p>}
        </div>
      )}
    </>
  );
}
