import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { ErrorText } from '../components/ErrorText';
import { Link } from '../router';
import { useSession } from '../session';

export function SignIn() {
  const { config, signedIn } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      signedIn(await api.login(username.trim(), password));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <div className="auth">
      <h1>Sign in to appgen</h1>
      <form onSubmit={submit} className="stack">
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {config.signup !== 'closed' && (
        <p>
          New here? <Link to="/signup">Create an account</Link>
        </p>
      )}
    </div>
  );
}
