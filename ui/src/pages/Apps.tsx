import { api } from '../api';
import { ErrorText } from '../components/ErrorText';
import { PhaseBadge } from '../components/PhaseBadge';
import { formatAge, formatCost } from '../format';
import { Link, generationHref } from '../router';
import { useLoad } from '../useLoad';

export function Apps() {
  const apps = useLoad(api.apps, 'apps');
  return (
    <div className="page">
      <h1>Apps</h1>
      <ErrorText error={apps.error} />
      {apps.data === undefined ? (
        !apps.error && <p className="muted">Loading…</p>
      ) : apps.data.items.length === 0 ? (
        <p>
          No apps yet. <Link to="/">Describe one</Link>.
        </p>
      ) : (
        apps.data.items.map((app) => {
          const live = app.versions.find((v) => v.url)?.url;
          return (
            <section key={`${app.namespace}/${app.app}`} className="app">
              <div className="card-head">
                <h2>{app.app}</h2>
                {live && (
                  <a href={live} target="_blank" rel="noopener" aria-label={`Open ${app.app} live (new tab)`}>
                    Live app ↗
                  </a>
                )}
              </div>
              <ol className="versions" aria-label={`Versions of ${app.app}, newest first`}>
                {app.versions.map((v) => (
                  <li key={v.name} className="version">
                    <div className="card-head">
                      <Link to={generationHref(app.namespace, v.name)}>{v.name}</Link>
                      <PhaseBadge phase={v.phase} />
                    </div>
                    <p className="card-prompt">{v.prompt}</p>
                    <p className="card-meta muted">
                      {formatCost(v.costUsd)} · {formatAge(v.createdAt)}
                      {v.message && <> · {v.message}</>}
                    </p>
                  </li>
                ))}
              </ol>
            </section>
          );
        })
      )}
    </div>
  );
}
