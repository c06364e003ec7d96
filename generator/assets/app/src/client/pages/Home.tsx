import { model } from '../../shared/model';
import { api } from '../api';
import { useLoad } from '../load';
import { hrefs, Link } from '../router';

// A card per entity with how many records it has, so the whole app is visible at a glance.
export function Home() {
  const counts = useLoad('home', () => Promise.all(model.entities.map((entity) => api.list(entity).then((rows) => rows.length))));
  return (
    <section>
      <h1>{model.title}</h1>
      {counts.state === 'failed' && <p className="error">Could not load the data: {counts.error}</p>}
      <ul className="cards">
        {model.entities.map((entity, index) => {
          const count = counts.state === 'ready' ? counts.data[index] : undefined;
          return (
            <li key={entity.name} className="card" data-entity={entity.name}>
              <h2>
                <Link to={hrefs.list(entity)}>{entity.pluralLabel}</Link>
              </h2>
              <p className="muted">
                {count === undefined ? '…' : count === 0 ? 'None yet' : `${count} ${count === 1 ? entity.label : entity.pluralLabel}`}
              </p>
              <Link to={hrefs.create(entity)} className="button">
                New {entity.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
