import { useEffect, useState, type FormEvent } from 'react';
import { api, type AdminUser, type Quota } from '../api';
import { CopyField } from '../components/CopyField';
import { ErrorText } from '../components/ErrorText';
import { GenerationList } from '../components/GenerationList';
import { formatAge } from '../format';
import { useUser } from '../session';
import { useLoad } from '../useLoad';
import { usePolledList } from '../usePolledList';
import { NotFound } from './NotFound';

export function Admin() {
  const me = useUser();
  // Not a hint that the page exists: the same answer as any unknown address.
  if (!me.admin) return <NotFound />;
  return (
    <div className="page">
      <h1>Administration</h1>
      <Users myId={me.id} />
      <DefaultQuotas />
      <Invites />
      <AllGenerations />
    </div>
  );
}

function Users({ myId }: { myId: string }) {
  const users = useLoad(api.adminUsers, 'users');
  const [error, setError] = useState<unknown>();

  const update = async (user: AdminUser, patch: Parameters<typeof api.updateUser>[1]): Promise<boolean> => {
    setError(undefined);
    try {
      await api.updateUser(user.id, patch);
      await users.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };

  return (
    <section>
      <h2>Users</h2>
      <ErrorText error={error ?? users.error} />
      {users.data && (
        <ul className="cards">
          {users.data.items.map((user) => (
            <li key={user.id} className="card">
              <div className="card-head">
                <span className="card-title">{user.username}</span>
                <span className={`badge badge-user-${user.status}`}>{user.status}</span>
                {user.admin && <span className="badge badge-admin">admin</span>}
              </div>
              <p className="card-meta muted">
                namespace {user.namespace} · joined {formatAge(user.createdAt)}
              </p>
              <div className="actions">
                {user.status === 'pending' && (
                  <button type="button" className="primary" onClick={() => update(user, { status: 'active' })}>
                    Approve {user.username}
                  </button>
                )}
                {user.status === 'active' && user.id !== myId && (
                  <button type="button" onClick={() => update(user, { status: 'disabled' })}>
                    Disable {user.username}
                  </button>
                )}
                {user.status === 'disabled' && (
                  <button type="button" onClick={() => update(user, { status: 'active' })}>
                    Enable {user.username}
                  </button>
                )}
                {user.id !== myId && (
                  <button type="button" onClick={() => update(user, { admin: !user.admin })}>
                    {user.admin ? `Remove admin from ${user.username}` : `Make ${user.username} admin`}
                  </button>
                )}
              </div>
              <QuotaForm
                label={`Quota for ${user.username}`}
                quota={user.quota}
                onSave={(quota) => update(user, { quota })}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Two numbers and a Save button; the inputs follow `quota` when it changes on the server.
 * `onSave` shows its own errors and says whether it saved. */
function QuotaForm({ label, quota, onSave }: { label: string; quota: Quota; onSave: (q: Quota) => Promise<boolean> }) {
  const [concurrent, setConcurrent] = useState(String(quota.concurrent));
  const [perDay, setPerDay] = useState(String(quota.perDay));
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setConcurrent(String(quota.concurrent));
    setPerDay(String(quota.perDay));
  }, [quota.concurrent, quota.perDay]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    setSaved(await onSave({ concurrent: Number(concurrent), perDay: Number(perDay) }));
  };

  return (
    <form onSubmit={submit} className="quota" aria-label={label}>
      <label>
        Running at once
        <input
          type="number"
          min="0"
          step="1"
          required
          value={concurrent}
          onChange={(e) => {
            setConcurrent(e.target.value);
            setSaved(false);
          }}
        />
      </label>
      <label>
        Per day
        <input
          type="number"
          min="0"
          step="1"
          required
          value={perDay}
          onChange={(e) => {
            setPerDay(e.target.value);
            setSaved(false);
          }}
        />
      </label>
      <button type="submit">Save</button>
      <span role="status" className="muted">
        {saved ? 'Saved' : ''}
      </span>
    </form>
  );
}

function DefaultQuotas() {
  const quotas = useLoad(api.quotas, 'quotas');
  const [error, setError] = useState<unknown>();
  const save = async (quota: Quota): Promise<boolean> => {
    setError(undefined);
    try {
      await api.setQuotas(quota);
      await quotas.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  return (
    <section>
      <h2>Default quota</h2>
      <p className="muted">For every user without a quota of their own.</p>
      <ErrorText error={error ?? quotas.error} />
      {quotas.data && <QuotaForm label="Default quota" quota={quotas.data} onSave={save} />}
    </section>
  );
}

function Invites() {
  const [code, setCode] = useState<string>();
  const [error, setError] = useState<unknown>();
  const create = async () => {
    setError(undefined);
    try {
      setCode((await api.createInvite()).code);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h2>Invites</h2>
      <p className="muted">An invite code lets one person sign up without waiting for approval.</p>
      <button type="button" onClick={create}>
        Create invite code
      </button>
      {code && <CopyField label="Invite code" value={code} />}
      <ErrorText error={error} />
    </section>
  );
}

function AllGenerations() {
  const list = usePolledList(api.allGenerations);
  return (
    <section>
      <h2>All generations</h2>
      <ErrorText error={list.error} />
      {list.items &&
        (list.items.length === 0 ? <p className="muted">None yet.</p> : <GenerationList items={list.items} showNamespace />)}
      {list.more && (
        <button type="button" onClick={list.loadMore}>
          Show older generations
        </button>
      )}
    </section>
  );
}
