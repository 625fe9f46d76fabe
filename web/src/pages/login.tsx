import { useState } from 'preact/hooks';
import { login } from '../api';

/** The only thing shown without a token. The token is checked against the API, kept in sessionStorage, and the field is cleared. */
export function Login() {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('token') as HTMLInputElement;
    const value = input.value.trim();
    input.value = '';
    if (!value) return setError('Paste the API token.');
    setBusy(true);
    try {
      await login(value);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Lifeboat</h1>
        <p>
          Log in with the API token of this <code>lifeboat serve</code> (its <code>server.token_file</code>, by default{' '}
          <code>&lt;state_dir&gt;/api.token</code>). It is kept for this browser tab only.
        </p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required autoFocus />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
