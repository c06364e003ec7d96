import type { Generation } from '../api';
import { formatAge, formatCost } from '../format';
import { Link, generationHref } from '../router';
import { PhaseBadge } from './PhaseBadge';

/** Generations as cards (they wrap at 360 px where a table would scroll): app, phase, step,
 * cost, age and the links that exist. */
export function GenerationList({ items, showNamespace = false }: { items: Generation[]; showNamespace?: boolean }) {
  return (
    <ul className="cards">
      {items.map((g) => {
        const phase = g.status?.phase;
        const url = g.status?.outputs?.url;
        return (
          <li key={`${g.namespace}/${g.name}`} className="card">
            <div className="card-head">
              <Link to={generationHref(g.namespace, g.name)} className="card-title">
                {g.spec.app ?? g.name}
              </Link>
              <PhaseBadge phase={phase} />
            </div>
            <p className="card-prompt">{g.spec.prompt}</p>
            <p className="card-meta muted">
              {showNamespace && <span>{g.namespace} · </span>}
              <span>{g.name}</span>
              {g.status?.step && <span> · {g.status.step}</span>}
              <span> · {formatCost(g.status?.usage?.costUsd)}</span>
              <span> · {formatAge(g.createdAt)}</span>
            </p>
            {(phase === 'Delivered' && g.links.archive) || url ? (
              <p className="card-links">
                {phase === 'Delivered' && g.links.archive && (
                  <a href={g.links.archive} download aria-label={`Download ${g.spec.app ?? g.name} (${g.name})`}>
                    Download
                  </a>
                )}
                {url && (
                  <a href={url} target="_blank" rel="noopener" aria-label={`Open ${g.spec.app ?? g.name} live (new tab)`}>
                    Live app
                  </a>
                )}
              </p>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
