import { Badge } from '../components/badge';
import { State } from '../components/state';
import { time } from '../format';
import type { AlertList, AlertView } from '../types';
import { useApi } from '../use-api';

function AlertRows({ alerts, resolved }: { alerts: AlertView[]; resolved: boolean }) {
  return (
    <div class="table-wrap">
      <table class="alerts">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Rule</th>
            <th scope="col">Subject</th>
            <th scope="col">Message</th>
            <th scope="col">Fired</th>
            {resolved && <th scope="col">Resolved</th>}
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr>
              <td>
                <Badge level={a.resolved_at ? 'info' : a.severity === 'critical' ? 'bad' : 'warn'}>{a.severity}</Badge>
              </td>
              <td>
                <code>{a.rule}</code>
              </td>
              <td>{[a.source, a.repository, a.job && `job ${a.job}`].filter(Boolean).join(' · ') || '—'}</td>
              <td>{a.message}</td>
              <td>{time(a.fired_at)}</td>
              {resolved && <td>{time(a.resolved_at)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Active alerts and recently resolved ones, as the daemon evaluated them. */
export function Alerts() {
  const a = useApi<AlertList>('/api/v1/alerts', 30_000);
  const past = a.data?.recent.filter((x) => x.resolved_at) ?? [];
  return (
    <>
      <h1>Alerts</h1>
      <State loading={a.loading && !a.data} error={a.error} />
      {a.data && (
        <>
          <h2>Active</h2>
          {a.data.active.length === 0 ? (
            <p>
              <Badge level="ok">No active alert</Badge>
            </p>
          ) : (
            <AlertRows alerts={a.data.active} resolved={false} />
          )}
          <h2>Past</h2>
          {past.length === 0 ? (
            <p class="muted">No resolved alert yet.</p>
          ) : (
            <AlertRows alerts={past} resolved={true} />
          )}
        </>
      )}
    </>
  );
}
