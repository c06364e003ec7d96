import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { ErrorText } from '../components/ErrorText';
import { Link } from '../router';
import { useSession } from '../session';

/** The request's fields, each with a control of its own to show its error beside. */
const FIELDS = ['username', 'password', 'invite'];

export function SignUp() {
  const { config, signedIn } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [invite, setInvite] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState(false);

  if (config.signup === 'closed') {
    return (
      <div className="auth">
        <h1>Sign-up is closed</h1>
        <p>This server does not take new accounts. Ask its administrator for one.</p>
        <p>
          <Link to="/signin">Sign in</Link>
        </p>
      </div>
    );
  }

  if (pending) {
    return (
      <div className="auth">
        <h1>Almost there</h1>
        <p role="status">
          Your account <strong>{username}</strong> was created and waits for an administrator to approve it. You can
          sign in once it is approved.
        </p>
        <p>
          <Link to="/signin">Sign in</Link>
        </p>
      </div>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.signup(username.trim(), password, invite.trim() || undefined);
      if (result.pending) {
        setPending(true);
        setBusy(false);
      } else {
        signedIn(result.user);
      }
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const failed = error instanceof ApiError && error.field && FIELDS.includes(error.field) ? error.field : undefined;
  /** The field's hint, and the server's complaint about it when there is one. */
  const describedBy = (field: string) => (failed === field ? `${field}-hint ${field}-error` : `${field}-hint`);
  const fieldError = (field: string) =>
    failed === field ? <ErrorText error={error} id={`${field}-error`} /> : null;

  return (
    <div className="auth">
      <h1>Create an account</h1>
      <form onSubmit={submit} className="stack">
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            minLength={3}
            maxLength={30}
            pattern="[a-z][a-z0-9\-]*"
            aria-describedby={describedBy('username')}
            aria-invalid={failed === 'username' ? true : undefined}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <p id="username-hint" className="hint">
          3–30 lowercase letters, digits or hyphens, starting with a letter.
        </p>
        {fieldError('username')}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            aria-describedby={describedBy('password')}
            aria-invalid={failed === 'password' ? true : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <p id="password-hint" className="hint">
          At least 10 characters.
        </p>
        {fieldError('password')}
        {config.signup === 'invite' && (
          <>
            <label>
              Invite code
              <input
                name="invite"
                autoComplete="off"
                spellCheck={false}
                aria-describedby={describedBy('invite')}
                aria-invalid={failed === 'invite' ? true : undefined}
                value={invite}
                onChange={(e) => setInvite(e.target.value)}
              />
            </label>
            <p id="invite-hint" className="hint">
              Without a code, an administrator approves your account before you can sign in.
            </p>
            {fieldError('invite')}
          </>
        )}
        {!failed && <ErrorText error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Have an account? <Link to="/signin">Sign in</Link>
      </p>
    </div>
  );
}
