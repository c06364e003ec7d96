import { useState, type FormEvent } from 'react';
import { rowTitle, type EntityDef, type FieldError, type Row } from '../../shared/schema';
import { api, ApiError, messageOf } from '../api';
import { FieldInput, fromForm, toForm, type FormValues } from '../fields';
import { useChoices, useLoad } from '../load';
import { hrefs, Link, navigate } from '../router';

/** The form to create a record, or to edit `row` when it is given. */
export function EntityForm({ entity, row }: { entity: EntityDef; row?: Row }) {
  const [values, setValues] = useState<FormValues>(() => toForm(entity, row));
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string>();
  const [saving, setSaving] = useState(false);
  const loadedChoices = useChoices(entity);
  const choices = loadedChoices.state === 'ready' ? loadedChoices.data : {};

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setSaving(true);
    try {
      const body = fromForm(entity, values);
      const saved = row === undefined ? await api.create(entity, body) : await api.update(entity, row.id, body);
      navigate(hrefs.show(entity, saved.id));
    } catch (error) {
      setErrors(error instanceof ApiError ? error.errors : []);
      setProblem(messageOf(error));
      setSaving(false);
    }
  };

  const errorOf = (name: string) => errors.find((error) => error.field === name)?.message;
  const cancel = row === undefined ? hrefs.list(entity) : hrefs.show(entity, row.id);

  return (
    <form className="entity-form" onSubmit={submit} aria-label={`${entity.label} form`}>
      {entity.fields.map((field) => {
        const error = errorOf(field.name);
        const input = (
          <FieldInput
            field={field}
            value={values[field.name] ?? ''}
            choices={choices}
            error={error}
            onChange={(value) => setValues((old) => ({ ...old, [field.name]: value }))}
          />
        );
        return (
          <div key={field.name} className={field.type === 'boolean' ? 'field checkbox' : 'field'}>
            {field.type === 'boolean' ? (
              <label>
                {input} {field.label}
              </label>
            ) : (
              <>
                <label htmlFor={`field-${field.name}`}>
                  {field.label}
                  {field.required && <span className="required"> *</span>}
                </label>
                {input}
              </>
            )}
            {error !== undefined && (
              <p className="field-error" id={`error-${field.name}`}>
                {error}
              </p>
            )}
          </div>
        );
      })}
      {problem !== undefined && <p className="error">{problem}</p>}
      <div className="actions">
        <button type="submit" disabled={saving}>
          {row === undefined ? `Create ${entity.label}` : 'Save'}
        </button>
        <Link to={cancel}>Cancel</Link>
      </div>
    </form>
  );
}

export function CreatePage({ entity }: { entity: EntityDef }) {
  return (
    <section>
      <h1>New {entity.label}</h1>
      <EntityForm entity={entity} />
    </section>
  );
}

export function EditPage({ entity, id }: { entity: EntityDef; id: string }) {
  const row = useLoad(`edit:${entity.name}:${id}`, () => api.get(entity, id));
  if (row.state === 'loading') return <p className="muted">Loading…</p>;
  if (row.state === 'failed') return <p className="error">{row.error}</p>;
  return (
    <section>
      <h1>Edit {rowTitle(entity, row.data)}</h1>
      <EntityForm entity={entity} row={row.data} />
    </section>
  );
}
