import { useState } from 'preact/hooks';
import { ErrorNotice, Notice } from '../components/common.js';
import { signIn, signedOutReason } from '../state/session.js';

export function SignInScreen() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!key.trim()) {
      setError(new Error('Enter your API key.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit} method="post" action="#">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          labelloop
        </div>
        <h1>Sign in</h1>
        <p class="muted">Use the API key an admin gave you. It stays in this browser tab only and is forgotten when the tab closes.</p>
        {signedOutReason.value && <Notice kind="warning">{signedOutReason.value}</Notice>}
        <label class="field">
          <span>API key</span>
          <input
            type="password"
            name="api-key"
            autocomplete="off"
            spellcheck={false}
            autoFocus
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorNotice error={error} />
        <button type="submit" class="button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
