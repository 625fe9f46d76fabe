import { Badge, Outcome } from '../components/badge';
import { State } from '../components/state';
import { ago, bytes, duration, rpoLevel, time } from '../format';
import { href } from '../router';
import type { DrillStepList, RepositoryInfo, RepositoryList, SourceList, StatusDoc } from '../types';
import { useApi } from '../use-api';

const LEVEL_TEXT = { ok: 'within RPO', warn: 'near RPO', bad: 'over RPO' } as const;

/** A time shown in the reader's locale, the exact instant kept in `datetime`. */
function When({ iso }: { iso: string }) {
  return <time dateTime={iso}>{time(iso)}</time>;
}

/** One row per source (data age against RPO, next run, last drill, alerts) and one card per repository. */
export function Overview() {
  const status = useApi<StatusDoc>('/api/v1/system/backup/status', 30_000);
  const sources = useApi<SourceList>('/api/v1/sources', 30_000);
  const repos = useApi<RepositoryList>('/api/v1/repositories', 60_000);
  const drills = useApi<DrillStepList>('/api/v1/drills?limit=200', 60_000);
  const s = status.data;
  const lastDrill = (name: string) => drills.data?.drills.find((d) => d.source === name);
  return (
    <>
      <h1>Overview</h1>
      <State loading={status.loading && !s} error={status.error} />
      {s && (
        <dl class="facts">
          <div>
            <dt>Last backup</dt>
            <dd>
              {s.last_backup ? (
                <>
                  <When iso={s.last_backup.timestamp} /> · {s.last_backup.type} <Outcome value={s.last_backup.status} />
                </>
              ) : (
                'none yet'
              )}
            </dd>
          </div>
          <div>
            <dt>Next backup</dt>
            <dd>
              {s.next_backup ? (
                <>
                  <When iso={s.next_backup.timestamp} /> · {s.next_backup.type}
                </>
              ) : (
                'none scheduled'
              )}
            </dd>
          </div>
          <div>
            <dt>Last verification</dt>
            <dd>
              {s.last_verification ? (
                <>
                  <When iso={s.last_verification.timestamp} /> <Outcome value={s.last_verification.status} />
                </>
              ) : (
                'none yet'
              )}
            </dd>
          </div>
          <div>
            <dt>Active alerts</dt>
            <dd>
              {s.alerts.length ? (
                <a href={href('alerts')}>
                  <Badge level="bad">{s.alerts.length} active</Badge>
                </a>
              ) : (
                <Badge level="ok">none</Badge>
              )}
            </dd>
          </div>
        </dl>
      )}

      <h2>Sources</h2>
      <State loading={sources.loading && !sources.data} error={sources.error} />
      {s && sources.data && (
        <div class="table-wrap">
          <table class="sources stack">
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">Last good backup</th>
                <th scope="col">Data age / RPO</th>
                <th scope="col">Next run</th>
                <th scope="col">Last drill</th>
                <th scope="col">Alerts</th>
              </tr>
            </thead>
            <tbody>
              {sources.data.sources.map((src) => {
                const st = s.sources[src.name];
                const level = rpoLevel(st?.age_seconds ?? null, src.rpo_seconds);
                const drill = lastDrill(src.name);
                const alerts = s.alerts.filter((a) => a.source === src.name);
                return (
                  <tr data-source={src.name}>
                    <th scope="row">
                      {src.name} <span class="muted">{src.type}</span>
                    </th>
                    <td data-label="Last good backup">{st?.last_success ? <When iso={st.last_success} /> : 'never'}</td>
                    <td data-label="Data age / RPO">
                      <Badge level={level}>{st?.age_seconds === null || !st ? 'no backup' : LEVEL_TEXT[level]}</Badge>{' '}
                      <span class="muted">
                        {st?.age_seconds != null ? duration(st.age_seconds) : '—'} / {duration(src.rpo_seconds)}
                      </span>
                      {st?.continuous && <Continuous view={st.continuous} />}
                    </td>
                    <td data-label="Next run">
                      {src.next_run ? (
                        `${time(src.next_run)} (${src.jobs.join(', ')})`
                      ) : (
                        <span class="muted">not scheduled</span>
                      )}
                    </td>
                    <td data-label="Last drill">
                      {drill ? (
                        <>
                          <Outcome value={drill.outcome} /> <span class="muted">{ago(drill.started_at)}</span>
                        </>
                      ) : (
                        <span class="muted">no drill</span>
                      )}
                    </td>
                    <td data-label="Alerts">
                      {alerts.length ? (
                        alerts.map((a) => <Badge level={a.severity === 'critical' ? 'bad' : 'warn'}>{a.rule}</Badge>)
                      ) : (
                        <span class="muted">none</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h2>Repositories</h2>
      <State loading={repos.loading && !repos.data} error={repos.error} />
      <div class="cards">
        {repos.data?.repositories.map((r) => (
          <RepositoryCard repo={r} />
        ))}
      </div>
    </>
  );
}

function RepositoryCard({ repo: r }: { repo: RepositoryInfo }) {
  const total =
    r.total_bytes ?? (r.used_bytes !== null && r.available_bytes !== null ? r.used_bytes + r.available_bytes : null);
  const usedPct = total && r.used_bytes !== null ? Math.min(100, (r.used_bytes / total) * 100) : null;
  return (
    <section class="card" aria-labelledby={`repo-${r.name}`} data-repository={r.name}>
      <h3 id={`repo-${r.name}`}>
        {r.name} {r.removable && <span class="muted">(removable)</span>}
      </h3>
      <p>
        <Badge level={r.connected ? 'ok' : 'bad'}>{r.connected ? 'connected' : 'not connected'}</Badge>
      </p>
      <p>
        Repository uses <strong>{bytes(r.used_bytes)}</strong>,{' '}
        {r.available_bytes !== null ? (
          <>
            <strong>{bytes(r.available_bytes)}</strong> free on its medium
          </>
        ) : (
          <Badge level="warn">free space unknown</Badge>
        )}
        {r.available_bytes === null && r.connected && (
          <span class="muted"> (this storage reports no capacity: it cannot be measured)</span>
        )}
      </p>
      {usedPct !== null && (
        <div class="meter" role="img" aria-label={`${usedPct.toFixed(0)} % of the medium used by the repository`}>
          <span style={{ width: `${Math.max(usedPct, 1)}%` }} />
        </div>
      )}
      <h4>Sources held</h4>
      {r.sources.length === 0 ? (
        <p class="muted">no snapshots</p>
      ) : (
        <ul class="plain">
          {r.sources.map((s) => {
            const fails = s.compliance_321.filter((c) => c.status !== 'pass');
            return (
              <li>
                <strong>{s.source ?? '(no source)'}</strong> · {s.snapshots} snapshot{s.snapshots === 1 ? '' : 's'},
                newest {ago(s.newest)}{' '}
                {s.compliance_321.length === 0 ? (
                  <Badge level="info">3-2-1-1-0 not evaluated</Badge>
                ) : fails.length === 0 ? (
                  <Badge level="ok">3-2-1-1-0 ok</Badge>
                ) : (
                  <Badge level="warn">
                    <span title={fails.map((f) => f.reason).join('\n')} data-compliance-fails>
                      3-2-1-1-0: {fails.map((f) => CHECK_LABEL[f.check] ?? f.check).join(', ')}
                    </span>
                  </Badge>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The checks of 3-2-1-1-0 as the badge names them. */
const CHECK_LABEL: Record<string, string> = {
  copies: '3 copies',
  media: '2 media',
  offsite: '1 offsite',
  immutable: '1 immutable or offline',
  errors: '0 errors',
};

/** A continuous source's stream: replication lag against its limit, and the newest shipped transaction. */
function Continuous({ view }: { view: NonNullable<StatusDoc['sources'][string]['continuous']> }) {
  return (
    <div class="continuous" data-continuous>
      <Badge level={view.ok ? 'ok' : 'bad'}>{view.running ? 'streaming' : 'replicator stopped'}</Badge>{' '}
      <span class="muted">
        lag <span data-lag>{duration(view.lag_seconds)}</span> / {duration(view.limit_seconds)}; newest shipped
        transaction{' '}
        <span data-last-shipped>
          {view.last_shipped_transaction ? <When iso={view.last_shipped_transaction} /> : 'none yet'}
        </span>
      </span>
    </div>
  );
}
