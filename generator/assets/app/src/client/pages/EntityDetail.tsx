import { useState } from 'react';
import { rowTitle, type EntityDef } from '../../shared/schema';
import { api, messageOf } from '../api';
import { FieldValue } from '../fields';
import { useChoices, useLoad } from '../load';
import { hrefs, Link, navigate } from '../router';

export function EntityDetail({ entity, id }: { entity: EntityDef; id: string }) {
  const row = useLoad(`show:${entity.name}:${id}`, () => api.get(entity, id));
  const loadedChoices = useChoices(entity);
  const choices = loadedChoices.state === 'ready' ? loadedChoices.data : {};
  const [problem, setProblem] = useState<string>();

  if (row.state === 'loading') return <p className="muted">Loading…</p>;
  if (row.state === 'failed') {
    return (
      <section>
        <p className="error">{row.error}</p>
        <Link to={hrefs.list(entity)}>Back to {entity.pluralLabel}</Link>
      </section>
    );
  }

  const remove = async () => {
    if (!window.confirm(`Delete this ${entity.label}?`)) return;
    try {
      await api.remove(entity, id);
      navigate(hrefs.list(entity));
    } catch (error) {
      setProblem(messageOf(error));
    }
  };

  return (
    <section>
      <p className="crumbs">
        <Link to={hrefs.list(entity)}>{entity.pluralLabel}</Link>
      </p>
      <div className="page-head">
        <h1>{rowTitle(entity, row.data)}</h1>
        <div className="actions">
          <Link to={hrefs.edit(entity, id)} className="button">
            Edit
          </Link>
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>
      {problem !== undefined && <p className="error">{problem}</p>}
      <dl className="details">
        {entity.fields.map((field) => (
          <div key={field.name}>
            <dt>{field.label}</dt>
            <dd>
              <FieldValue field={field} value={row.data[field.name]} choices={choices} />
            </dd>
          </div>
        ))}
        <div>
          <dt>Created</dt>
          <dd>{new Date(row.data.createdAt).toLocaleString()}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{new Date(row.data.updatedAt).toLocaleString()}</dd>
        </div>
      </dl>
    </section>
  );
}
