import { rowTitle, type EntityDef } from '../../shared/schema';
import { api } from '../api';
import { FieldValue } from '../fields';
import { useChoices, useLoad } from '../load';
import { hrefs, Link } from '../router';

// Besides the record's title (a link to it), the list shows its first few short fields.
const EXTRA_COLUMNS = 3;

export function EntityList({ entity }: { entity: EntityDef }) {
  const rows = useLoad(`list:${entity.name}`, () => api.list(entity));
  const loadedChoices = useChoices(entity);
  const choices = loadedChoices.state === 'ready' ? loadedChoices.data : {};
  const columns = entity.fields
    .filter((field) => field.name !== entity.titleField && field.type !== 'longText')
    .slice(0, EXTRA_COLUMNS);
  return (
    <section>
      <div className="page-head">
        <h1>{entity.pluralLabel}</h1>
        <Link to={hrefs.create(entity)} className="button">
          New {entity.label}
        </Link>
      </div>
      {rows.state === 'loading' && <p className="muted">Loading…</p>}
      {rows.state === 'failed' && (
        <p className="error">
          Could not load {entity.pluralLabel}: {rows.error}
        </p>
      )}
      {rows.state === 'ready' && rows.data.length === 0 && (
        <div className="empty">
          <p>No {entity.pluralLabel} yet.</p>
          <Link to={hrefs.create(entity)}>Create the first {entity.label}</Link>
        </div>
      )}
      {rows.state === 'ready' && rows.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{entity.label}</th>
              {columns.map((field) => (
                <th key={field.name}>{field.label}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.data.map((row) => (
              <tr key={row.id}>
                <td>
                  <Link to={hrefs.show(entity, row.id)}>{rowTitle(entity, row)}</Link>
                </td>
                {columns.map((field) => (
                  <td key={field.name}>
                    <FieldValue field={field} value={row[field.name]} choices={choices} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
