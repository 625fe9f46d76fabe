import { useEffect, useState } from 'preact/hooks';
import { logout, onAuthChange, token } from './api';
import { href, useRoute } from './router';
import { Alerts } from './pages/alerts';
import { Charts } from './pages/charts';
import { DrillReportPage, Drills } from './pages/drills';
import { Jobs } from './pages/jobs';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { SnapshotPage } from './pages/snapshot';
import { Snapshots } from './pages/snapshots';

const NAV: Array<[string, string]> = [
  ['', 'Overview'],
  ['snapshots', 'Snapshots'],
  ['jobs', 'Jobs'],
  ['charts', 'Charts'],
  ['drills', 'Drills'],
  ['alerts', 'Alerts'],
];

/** The shell: nothing but the login until a token the API accepts is kept for this session. */
export function App() {
  const [authed, setAuthed] = useState(() => token() !== null);
  useEffect(() => onAuthChange(() => setAuthed(token() !== null)), []);
  const route = useRoute();
  useEffect(() => {
    const page = NAV.find(([p]) => p === (route[0] ?? ''))?.[1] ?? 'Lifeboat';
    document.title = authed ? `${page} · Lifeboat` : 'Log in · Lifeboat';
  }, [route, authed]);
  if (!authed) return <Login />;
  const [page = '', ...rest] = route;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Lifeboat</span>
        <nav aria-label="Main">
          {NAV.map(([p, label]) => (
            <a href={href(...(p ? [p] : []))} aria-current={page === p ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button class="ghost" onClick={logout}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page === '' && <Overview />}
        {page === 'snapshots' &&
          (rest.length >= 2 ? <SnapshotPage repository={rest[0]!} id={rest[1]!} /> : <Snapshots />)}
        {page === 'jobs' && <Jobs />}
        {page === 'charts' && <Charts />}
        {page === 'drills' && (rest.length >= 2 ? <DrillReportPage repository={rest[0]!} id={rest[1]!} /> : <Drills />)}
        {page === 'alerts' && <Alerts />}
        {!NAV.some(([p]) => p === page) && (
          <p>
            No such page. <a href="#/">Go to the overview</a>.
          </p>
        )}
      </main>
    </>
  );
}
