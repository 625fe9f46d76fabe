import { Badge, Outcome } from '../components/badge';
import { State } from '../components/state';
import { duration, shortId, time } from '../format';
import { href } from '../router';
import type { DrillReportAnswer, DrillReportList, DrillStepList, Objective } from '../types';
import { useApi } from '../use-api';

function ObjectiveText({ o }: { o: Objective }) {
  return (
    <>
      {duration(o.measuredSeconds)}
      {o.targetSeconds !== null && <span class="muted"> / target {duration(o.targetSeconds)}</span>}{' '}
      {o.ok !== null && <Badge level={o.ok ? 'ok' : 'bad'}>{o.ok ? 'met' : 'missed'}</Badge>}
    </>
  );
}

/** Restore drills: the stored reports (with a page each) and the drill steps of job runs. */
export function Drills() {
  const reports = useApi<DrillReportList>('/api/v1/drills/reports');
  const steps = useApi<DrillStepList>('/api/v1/drills?limit=100');
  return (
    <>
      <h1>Drills</h1>
      <h2>Reports</h2>
      <State loading={reports.loading} error={reports.error} />
      {reports.data?.unreachable.map((u) => (
        <p class="muted">
          {u.repository}: not readable now ({u.error})
        </p>
      ))}
      {reports.data && reports.data.reports.length === 0 && <p class="muted">No drill report in any repository yet.</p>}
      {reports.data && reports.data.reports.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Source</th>
                <th scope="col">Verdict</th>
                <th scope="col">RTO</th>
                <th scope="col" title="the drilled snapshot's time minus the newest data in it">
                  RPO of the snapshot
                </th>
                <th scope="col">Snapshot</th>
              </tr>
            </thead>
            <tbody>
              {reports.data.reports.map((r) => (
                <tr>
                  <td>
                    <a href={href('drills', r.repository, r.id)}>{time(r.started_at)}</a>
                  </td>
                  <td>{r.source.name}</td>
                  <td>
                    <Outcome value={r.verdict} />
                  </td>
                  <td>
                    <ObjectiveText o={r.rto} />
                  </td>
                  <td>
                    <ObjectiveText o={r.rpo} />
                  </td>
                  <td>
                    <code>{shortId(r.snapshot.id)}</code> <span class="muted">{r.repository}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Drill steps of job runs</h2>
      <State loading={steps.loading} error={steps.error} />
      {steps.data && steps.data.drills.length === 0 && <p class="muted">No job has run a drill yet.</p>}
      {steps.data && steps.data.drills.length > 0 && (
        <ul class="plain">
          {steps.data.drills.map((d) => (
            <li>
              {time(d.started_at)} · {d.source ?? '—'} · job {d.job} <Outcome value={d.outcome} />{' '}
              {d.error && <span class="muted">{d.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** A check's expected or found value: strings as they are, anything else as JSON. */
function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  return v === undefined ? '—' : JSON.stringify(v);
}

/** One drill report in full: verdict and reasons, objectives, every check, the smoke test, cleanup. */
export function DrillReportPage({ repository, id }: { repository: string; id: string }) {
  const r = useApi<DrillReportAnswer>(
    `/api/v1/drills/reports/${encodeURIComponent(repository)}/${encodeURIComponent(id)}`,
  );
  const rep = r.data?.report;
  return (
    <>
      <p>
        <a href={href('drills')}>← Drills</a>
      </p>
      <h1>Drill report</h1>
      <State loading={r.loading} error={r.error} />
      {rep && (
        <>
          <p>
            <Outcome value={rep.verdict} /> {rep.source.name} ({rep.source.type}) from {repository}, snapshot{' '}
            <code>{shortId(rep.snapshot.id)}</code> of {time(rep.snapshot.time)} ({rep.snapshot.selectedBy})
          </p>
          {rep.reasons.length > 0 && (
            <ul>
              {rep.reasons.map((x) => (
                <li class="error">{x}</li>
              ))}
            </ul>
          )}
          <dl class="facts">
            <div>
              <dt>Started</dt>
              <dd>{time(rep.startedAt)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{time(rep.finishedAt)}</dd>
            </div>
            <div>
              <dt>Mode</dt>
              <dd>{rep.mode}</dd>
            </div>
            {rep.isolation && (
              <div>
                <dt>Server</dt>
                <dd>
                  {rep.isolation.server === 'throwaway'
                    ? 'throwaway server'
                    : 'scratch database on the configured server'}{' '}
                  <span class="muted">{rep.isolation.detail}</span>
                </dd>
              </div>
            )}
            {rep.pointInTime && (
              <div>
                <dt>Point in time</dt>
                <dd>
                  {time(rep.pointInTime.pointAt)}:{' '}
                  {rep.pointInTime.reached
                    ? `recovery stopped ${rep.pointInTime.stoppedAt ?? 'at the target'}`
                    : 'target NOT reached'}
                </dd>
              </div>
            )}
            <div>
              <dt>Host</dt>
              <dd>{rep.host}</dd>
            </div>
            <div>
              <dt>RTO</dt>
              <dd>
                <ObjectiveText o={rep.rto} />
              </dd>
            </div>
            <div>
              <dt>{rep.pointInTime ? 'RPO achievable now' : 'RPO of the snapshot'}</dt>
              <dd>
                <ObjectiveText o={rep.rpo} /> <span class="muted">{rep.rpo.basis}</span>
              </dd>
            </div>
            {rep.freshness && (
              <div>
                <dt>Newest backup at drill time</dt>
                <dd>
                  {rep.freshness.newestSnapshot ? (
                    <>
                      <code>{shortId(rep.freshness.newestSnapshot.id)}</code>, {duration(rep.freshness.ageSeconds)} old
                    </>
                  ) : (
                    'none'
                  )}
                  {rep.freshness.targetSeconds !== null && (
                    <span class="muted"> / RPO {duration(rep.freshness.targetSeconds)}</span>
                  )}{' '}
                  {rep.freshness.ok !== null && (
                    <Badge level={rep.freshness.ok ? 'ok' : 'bad'}>{rep.freshness.ok ? 'fresh' : 'stale'}</Badge>
                  )}{' '}
                  <span class="muted">(not part of the verdict)</span>
                </dd>
              </div>
            )}
            <div>
              <dt>Cleanup</dt>
              <dd>
                <Badge level={rep.cleanup.ok ? 'ok' : 'bad'}>{rep.cleanup.ok ? 'ok' : 'left behind'}</Badge>{' '}
                {rep.cleanup.detail}
              </dd>
            </div>
          </dl>
          <h2>Checks</h2>
          <div class="table-wrap">
            <table class="checks stack">
              <thead>
                <tr>
                  <th scope="col">Result</th>
                  <th scope="col">Check</th>
                  <th scope="col">Expected</th>
                  <th scope="col">Found</th>
                </tr>
              </thead>
              <tbody>
                {rep.checks.map((c) => (
                  <tr>
                    <td data-label="Result">
                      <Badge level={c.ok ? 'ok' : 'bad'}>{c.ok ? 'pass' : 'fail'}</Badge>
                    </td>
                    <th scope="row">{c.name}</th>
                    <td data-label="Expected" class="value">
                      {shown(c.expected)}
                    </td>
                    <td data-label="Found" class="value">
                      {shown(c.actual)}
                      {c.detail && <div class="muted">{c.detail}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Smoke test</h2>
          {rep.smoke ? (
            <>
              <p>
                <Badge level={rep.smoke.ok ? 'ok' : 'bad'}>{rep.smoke.ok ? 'passed' : 'failed'}</Badge>{' '}
                <code>{rep.smoke.command}</code> · exit {String(rep.smoke.exitCode)} ·{' '}
                {duration(rep.smoke.durationMs / 1000)}
              </p>
              {rep.smoke.output.trim() ? (
                <pre class="record">{rep.smoke.output}</pre>
              ) : (
                <p class="muted">It printed nothing.</p>
              )}
            </>
          ) : (
            <p class="muted">none configured</p>
          )}
        </>
      )}
    </>
  );
}
