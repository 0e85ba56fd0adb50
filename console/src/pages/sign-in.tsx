/** Sign-in: exchanges an admin key for a session cookie (the key itself is not kept by the browser). */
import { useState } from 'preact/hooks';
import { type Session, signIn } from '../api';
import { ErrorNote } from '../components/ui';

export function SignIn({
  onSignedIn,
  notice = null,
}: {
  onSignedIn: (session: Session) => void;
  /** Why the console is back here (the session expired, its key stopped working …). */
  notice?: string | null;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onSignedIn(await signIn(key.trim()));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">LLM Gateway console</h1>
        {notice && !error ? (
          <p class="note" role="status">
            {notice}
          </p>
        ) : null}
        <p>Sign in with the admin key (GATEWAY_ADMIN_KEY) or an organization or team admin key.</p>
        <label for="admin-key">Admin key</label>
        <input
          id="admin-key"
          name="key"
          type="password"
          autocomplete="current-password"
          required
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNote error={error} />
        <p class="hint">
          Running <code>npm run demo</code>? The admin key is printed on the line <code>Admin key: …</code>.
        </p>
      </form>
    </main>
  );
}
