// Everything that depends on a field's type in the client: the form input, the conversion
// between form state and API values, and how a value is shown.
import type { ChangeEvent } from 'react';
import { rowTitle, type EntityDef, type FieldDef, type FieldType, type Row } from '../shared/schema';
import type { Choices } from './load';
import { hrefs, Link } from './router';

/** Form state: checkboxes hold booleans, every other input holds its text. */
export type FormValues = Record<string, string | boolean>;

const INPUT_TYPES: Partial<Record<FieldType, string>> = {
  text: 'text',
  email: 'email',
  url: 'url',
  number: 'number',
  integer: 'number',
  money: 'number',
  date: 'date',
  datetime: 'datetime-local',
};

const STEPS: Partial<Record<FieldType, string>> = { number: 'any', integer: '1', money: '0.01' };

const NUMERIC = new Set<FieldType>(['number', 'integer', 'money']);

export function toForm(entity: EntityDef, row?: Row): FormValues {
  const values: FormValues = {};
  for (const field of entity.fields) {
    const value = row?.[field.name];
    if (field.type === 'boolean') values[field.name] = value === true;
    else if (value === undefined || value === null) values[field.name] = '';
    // A datetime-local input takes minutes, without seconds or a zone.
    else if (field.type === 'datetime') values[field.name] = String(value).slice(0, 16);
    else values[field.name] = String(value);
  }
  return values;
}

export function fromForm(entity: EntityDef, values: FormValues): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const field of entity.fields) {
    const value = values[field.name];
    if (typeof value === 'boolean') body[field.name] = value;
    else if (value === undefined || value.trim() === '') body[field.name] = null;
    else body[field.name] = NUMERIC.has(field.type) ? Number(value) : value;
  }
  return body;
}

interface InputProps {
  field: FieldDef;
  value: string | boolean;
  choices: Choices;
  error?: string;
  onChange: (value: string | boolean) => void;
}

export function FieldInput({ field, value, choices, error, onChange }: InputProps) {
  const common = {
    id: `field-${field.name}`,
    name: field.name,
    required: field.required,
    'aria-invalid': error === undefined ? undefined : true,
    'aria-describedby': error === undefined ? undefined : `error-${field.name}`,
  };
  const text = typeof value === 'string' ? value : '';
  const onText = (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    onChange(event.target.value);

  switch (field.type) {
    case 'boolean':
      return (
        <input
          {...common}
          type="checkbox"
          required={false}
          checked={value === true}
          onChange={(event) => onChange(event.target.checked)}
        />
      );
    case 'longText':
      return <textarea {...common} rows={5} value={text} onChange={onText} />;
    case 'enum':
      return (
        <select {...common} value={text} onChange={onText}>
          <option value="">Choose…</option>
          {(field.values ?? []).map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
    case 'reference': {
      const choice = field.references === undefined ? undefined : choices[field.references];
      const options = choice === undefined ? [] : choice.rows.map((row) => ({ id: row.id, title: rowTitle(choice.target, row) }));
      return (
        <>
          <select {...common} value={text} onChange={onText}>
            <option value="">Choose…</option>
            {options.map((option) => (
              <option key={option.id} value={option.id}>
                {option.title}
              </option>
            ))}
          </select>
          {choice !== undefined && options.length === 0 && (
            <p className="muted hint">
              No {choice.target.pluralLabel} yet. <Link to={hrefs.create(choice.target)}>Create one first</Link>
            </p>
          )}
        </>
      );
    }
    default:
      return (
        <input
          {...common}
          type={INPUT_TYPES[field.type] ?? 'text'}
          step={STEPS[field.type]}
          min={field.min}
          max={field.max}
          value={text}
          onChange={onText}
        />
      );
  }
}

export function FieldValue({ field, value, choices }: { field: FieldDef; value: unknown; choices: Choices }) {
  if (value === undefined || value === null || value === '') return <span className="muted">—</span>;
  const text = String(value);
  switch (field.type) {
    case 'boolean':
      return <>{value === true ? 'Yes' : 'No'}</>;
    case 'money':
      return <>{Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}</>;
    case 'datetime':
      return <>{text.replace('T', ' ')}</>;
    case 'url':
      return (
        <a href={text} target="_blank" rel="noreferrer">
          {text}
        </a>
      );
    case 'email':
      return <a href={`mailto:${text}`}>{text}</a>;
    case 'longText':
      return <span className="long-text">{text}</span>;
    case 'reference': {
      const choice = field.references === undefined ? undefined : choices[field.references];
      const row = choice?.rows.find((each) => each.id === text);
      if (choice === undefined || row === undefined) return <>{text}</>;
      return <Link to={hrefs.show(choice.target, row.id)}>{rowTitle(choice.target, row)}</Link>;
    }
    default:
      return <>{text}</>;
  }
}
