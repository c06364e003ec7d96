// The client's calls to the REST API, one function per operation.
import type { EntityDef, FieldError, Row } from '../shared/schema';

/** A failed API call; `errors` names the fields a 400 answer complained about. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const answer = (data ?? {}) as { error?: string; errors?: FieldError[] };
    throw new ApiError(answer.error ?? `${method} ${url} failed (${response.status})`, response.status, answer.errors ?? []);
  }
  return data as T;
}

const one = (entity: EntityDef, id: string) => `/api/${entity.path}/${encodeURIComponent(id)}`;

export const api = {
  list: (entity: EntityDef) => call<Row[]>('GET', `/api/${entity.path}`),
  get: (entity: EntityDef, id: string) => call<Row>('GET', one(entity, id)),
  create: (entity: EntityDef, values: Record<string, unknown>) => call<Row>('POST', `/api/${entity.path}`, values),
  update: (entity: EntityDef, id: string, values: Record<string, unknown>) => call<Row>('PUT', one(entity, id), values),
  remove: (entity: EntityDef, id: string) => call<void>('DELETE', one(entity, id)),
};

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
