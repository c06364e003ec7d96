// The shape of the data model in src/shared/model.ts. The server validates and stores records
// with it and the client draws its pages from it, so a field is described once.

export type FieldType =
  | 'text'
  | 'longText'
  | 'number'
  | 'integer'
  | 'money'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'email'
  | 'url'
  | 'enum'
  | 'reference';

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  required: boolean;
  /** The allowed values of an `enum` field. */
  values?: string[];
  /** The entity a `reference` field points to. */
  references?: string;
  min?: number;
  max?: number;
}

export interface EntityDef {
  name: string;
  label: string;
  pluralLabel: string;
  /** The URL segment of the entity, under /api and in the client. */
  path: string;
  /** The field that names a record in lists, headings and reference pickers. */
  titleField: string | null;
  fields: FieldDef[];
}

export interface AppModel {
  title: string;
  entities: EntityDef[];
}

/** What the server adds to every record. */
export interface RowMeta {
  id: string;
  createdAt: string;
  updatedAt: string;
}

/** A stored record of any entity. */
export type Row = RowMeta & Record<string, unknown>;

/** One problem with one field of a request body. */
export interface FieldError {
  field: string;
  message: string;
}

export function findEntity(model: AppModel, name: string): EntityDef | undefined {
  return model.entities.find((entity) => entity.name === name);
}

/** The entities and fields that point at `target`, for reference pickers and delete checks. */
export function referencesTo(model: AppModel, target: string): { entity: EntityDef; field: FieldDef }[] {
  return model.entities.flatMap((entity) =>
    entity.fields
      .filter((field) => field.type === 'reference' && field.references === target)
      .map((field) => ({ entity, field })),
  );
}

/** How a record is named for people: its title field, or the start of its id. */
export function rowTitle(entity: EntityDef, row: Row): string {
  const value = entity.titleField === null ? undefined : row[entity.titleField];
  if (value !== undefined && value !== null && value !== '') return String(value);
  return `${entity.label} ${row.id.slice(0, 8)}`;
}
