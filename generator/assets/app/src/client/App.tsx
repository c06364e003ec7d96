import { model } from '../shared/model';
import type { EntityDef } from '../shared/schema';
import { EntityDetail } from './pages/EntityDetail';
import { CreatePage, EditPage } from './pages/EntityForm';
import { EntityList } from './pages/EntityList';
import { Home } from './pages/Home';
import { hrefs, Link, usePath } from './router';

export function App() {
  const path = usePath();
  const [first] = path.split('/').filter(Boolean);
  const current = model.entities.find((entity) => entity.path === first);
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">
          {model.title}
        </Link>
        <nav aria-label="Entities">
          <Link to="/" className={path === '/' ? 'active' : undefined}>
            Home
          </Link>
          {model.entities.map((entity) => (
            <Link key={entity.name} to={hrefs.list(entity)} className={entity === current ? 'active' : undefined}>
              {entity.pluralLabel}
            </Link>
          ))}
        </nav>
      </header>
      <main>
        {/* A new path is a new page: no form or list keeps the state of the one before. */}
        <Page key={path} path={path} entity={current} />
      </main>
    </>
  );
}

// /, /<entity>, /<entity>/new, /<entity>/<id>, /<entity>/<id>/edit
function Page({ path, entity }: { path: string; entity?: EntityDef }) {
  const parts = path.split('/').filter(Boolean).map(decode);
  if (parts.length === 0) return <Home />;
  if (entity === undefined) return <NotFound />;
  const [, id, action] = parts;
  if (id === undefined) return <EntityList entity={entity} />;
  if (id === 'new' && action === undefined) return <CreatePage entity={entity} />;
  if (action === undefined) return <EntityDetail entity={entity} id={id} />;
  if (action === 'edit' && parts.length === 3) return <EditPage entity={entity} id={id} />;
  return <NotFound />;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <Link to="/">Back home</Link>
    </section>
  );
}

// A hand-typed URL may hold a broken escape; keep such a part as it is.
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
