import type { Blueprint, BlueprintField } from '../api';

/** The data model the agent understood from the prompt, one table per entity. */
export function BlueprintView({ blueprint }: { blueprint: Blueprint }) {
  return (
    <div className="blueprint">
      {blueprint.title && <p>{blueprint.title}</p>}
      {blueprint.entities.map((entity) => (
        <div key={entity.name} className="table-wrap">
          <table>
            <caption>{entity.name}</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Type</th>
                <th scope="col">Required</th>
                <th scope="col">Rules</th>
              </tr>
            </thead>
            <tbody>
              {entity.fields.map((field) => (
                <tr key={field.name}>
                  <td>{field.name}</td>
                  <td>{field.type}</td>
                  <td>{field.required ? 'yes' : 'no'}</td>
                  <td>{rules(field)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

function rules(field: BlueprintField): string {
  const parts: string[] = [];
  if (field.values?.length) parts.push(`one of ${field.values.join(', ')}`);
  if (field.references) parts.push(`refers to ${field.references}`);
  if (field.min !== undefined && field.min !== null) parts.push(`min ${field.min}`);
  if (field.max !== undefined && field.max !== null) parts.push(`max ${field.max}`);
  return parts.join('; ') || '—';
}
