// Checks a request body against an entity of the model. Every problem names its field, so a
// 400 answer tells the caller exactly what to fix.
import type { EntityDef, FieldDef, FieldError } from '../shared/schema';

/** Whether a record of `entity` with this id exists; used for reference fields. */
export type Exists = (entity: string, id: string) => boolean;

export type Checked =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; errors: FieldError[] };

// The server sets these; a client may send them back unchanged (e.g. an edited record).
const SERVER_FIELDS = new Set(['id', 'createdAt', 'updatedAt']);

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkBody(entity: EntityDef, body: unknown, exists: Exists): Checked {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: [{ field: '(body)', message: 'the body must be a JSON object' }] };
  }
  const input = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  const known = new Set(entity.fields.map((field) => field.name));
  for (const key of Object.keys(input)) {
    if (!known.has(key) && !SERVER_FIELDS.has(key)) {
      errors.push({ field: key, message: `${key} is not a field of ${entity.label}` });
    }
  }
  const values: Record<string, unknown> = {};
  for (const field of entity.fields) {
    const raw = Object.hasOwn(input, field.name) ? input[field.name] : undefined;
    const result = checkField(field, raw, exists);
    if ('error' in result) errors.push({ field: field.name, message: result.error });
    else values[field.name] = result.value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

function isBlank(raw: unknown): boolean {
  return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

function checkField(field: FieldDef, raw: unknown, exists: Exists): { value: unknown } | { error: string } {
  const name = field.name;
  // An unticked checkbox is simply false, never missing.
  if (field.type === 'boolean' && (raw === undefined || raw === null)) return { value: false };
  if (isBlank(raw)) return field.required ? { error: `${name} is required` } : { value: null };
  switch (field.type) {
    case 'text':
    case 'longText':
      return typeof raw === 'string' ? { value: raw } : { error: `${name} must be text` };
    case 'number':
    case 'integer':
    case 'money':
      return checkNumber(field, raw);
    case 'boolean':
      return typeof raw === 'boolean' ? { value: raw } : { error: `${name} must be true or false` };
    case 'date':
      return typeof raw === 'string' && isDate(raw)
        ? { value: raw }
        : { error: `${name} must be a date like 2024-12-31` };
    case 'datetime':
      return typeof raw === 'string' && DATETIME.test(raw) && isDate(raw.slice(0, 10))
        ? { value: raw }
        : { error: `${name} must be a date and time like 2024-12-31T18:30` };
    case 'email':
      return typeof raw === 'string' && EMAIL.test(raw.trim())
        ? { value: raw.trim() }
        : { error: `${name} must be an email address` };
    case 'url':
      return typeof raw === 'string' && isWebUrl(raw.trim())
        ? { value: raw.trim() }
        : { error: `${name} must be a web address starting with http:// or https://` };
    case 'enum':
      return typeof raw === 'string' && (field.values ?? []).includes(raw)
        ? { value: raw }
        : { error: `${name} must be one of: ${(field.values ?? []).join(', ')}` };
    case 'reference':
      return typeof raw === 'string' && exists(field.references ?? '', raw)
        ? { value: raw }
        : { error: `${name} must be the id of an existing ${field.references ?? 'record'}` };
  }
}

function checkNumber(field: FieldDef, raw: unknown): { value: number } | { error: string } {
  const name = field.name;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return { error: `${name} must be a number` };
  if (field.type === 'integer' && !Number.isInteger(raw)) return { error: `${name} must be a whole number` };
  if (field.min !== undefined && raw < field.min) return { error: `${name} must be at least ${field.min}` };
  if (field.max !== undefined && raw > field.max) return { error: `${name} must be at most ${field.max}` };
  // Money is rounded to cents, so 0.1 + 0.2 is stored as 0.3.
  return { value: field.type === 'money' ? Math.round(raw * 100) / 100 : raw };
}

// A real calendar day: 2024-02-30 matches the pattern but is not one.
function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
