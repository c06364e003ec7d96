import { useState, type FormEvent } from 'react';
import { api, type NewToken } from '../api';
import { CopyField } from '../components/CopyField';
import { ErrorText } from '../components/ErrorText';
import { formatTime } from '../format';
import { useLoad } from '../useLoad';

export function Tokens() {
  const tokens = useLoad(api.tokens, 'tokens');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<NewToken>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await api.createToken(name.trim()));
      setName('');
      await tokens.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await api.revokeToken(id);
      if (created?.id === id) setCreated(undefined);
      await tokens.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="page">
      <h1>API tokens</h1>
      <p>
        Scripts and the <code>appgen</code> command line send a token in the header{' '}
        <code>Authorization: Bearer &lt;token&gt;</code>; it acts as you until you revoke it.
      </p>
      <form onSubmit={create} className="inline-form">
        <label htmlFor="token-name">Token name</label>
        <input
          id="token-name"
          name="token-name"
          required
          maxLength={100}
          placeholder="laptop CLI"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          Create token
        </button>
      </form>
      {created && (
        <div className="notice" role="status">
          <p>
            Token <strong>{created.name}</strong> created. Copy it now: it is not shown again.
          </p>
          <CopyField label={`New token ${created.name}`} value={created.token} />
        </div>
      )}
      <ErrorText error={error ?? tokens.error} />
      {tokens.data &&
        (tokens.data.items.length === 0 ? (
          <p className="muted">No tokens yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.data.items.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>{formatTime(t.createdAt)}</td>
                    <td>{t.lastUsedAt ? formatTime(t.lastUsedAt) : 'never'}</td>
                    <td>
                      <button type="button" className="danger" onClick={() => revoke(t.id)} aria-label={`Revoke ${t.name}`}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </div>
  );
}
