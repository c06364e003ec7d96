// A typed client for appgen's REST API (/api/v1), mirroring the contract the Rust side serves.
// Every call goes through `request`, which adds the CSRF token to mutating requests, turns
// non-2xx answers into one error type and tells the app when the session has ended.

export type Phase = 'Pending' | 'Running' | 'Delivered' | 'Failed' | 'Cancelled';

const FINISHED_PHASES: readonly Phase[] = ['Delivered', 'Failed', 'Cancelled'];

export interface User {
  id: string;
  username: string;
  admin: boolean;
  status: 'active' | 'pending' | 'disabled';
  namespace: string;
  createdAt: string;
}

export interface Quota {
  concurrent: number;
  perDay: number;
}

export interface AdminUser extends User {
  quota: Quota;
}

export interface Config {
  signup: 'open' | 'invite' | 'closed';
  agents: string[];
  defaultAgent: string;
  deployTargets: string[];
  maxPromptBytes: number;
}

export interface AgentSpec {
  name?: string;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  maxRepairs?: number;
  startFrom?: string;
}

export interface DeliverySpec {
  deploy?: { target: string };
}

export interface GenerationSpec {
  prompt: string;
  app?: string;
  parent?: string;
  agent?: AgentSpec;
  delivery?: DeliverySpec;
  cancel?: boolean;
  timeoutSeconds?: number;
  retries?: number;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Attempt {
  number: number;
  backend?: string;
  taskId?: string;
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  reason?: string;
}

export interface Outputs {
  archiveUrl?: string;
  sha256?: string;
  size?: number;
  repositoryUrl?: string;
  commit?: string;
  url?: string;
}

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  turns?: number;
  durationSeconds?: number;
}

export interface GateResult {
  gate: string;
  passed: boolean;
  durationMs?: number;
  message?: string;
}

export interface BlueprintField {
  name: string;
  type: string;
  required?: boolean;
  values?: string[];
  references?: string;
  min?: number;
  max?: number;
}

export interface Blueprint {
  title?: string;
  entities: { name: string; fields: BlueprintField[] }[];
}

export interface GenerationStatus {
  phase: Phase;
  step?: string;
  message?: string;
  conditions?: Condition[];
  attempts?: Attempt[];
  outputs?: Outputs;
  usage?: Usage;
  verification?: GateResult[];
  blueprint?: Blueprint;
  startTime?: string;
  completionTime?: string;
}

export interface Generation {
  namespace: string;
  name: string;
  uid: string;
  createdAt: string;
  spec: GenerationSpec;
  status?: GenerationStatus;
  links: { self: string; events: string; archive?: string; screenshots?: string[] };
}

export interface Page<T> {
  items: T[];
  continue?: string;
}

export interface AppVersion {
  name: string;
  phase?: Phase;
  createdAt: string;
  prompt: string;
  costUsd?: number;
  message?: string;
  url?: string;
}

export interface AppSummary {
  app: string;
  namespace: string;
  versions: AppVersion[];
}

export interface Token {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string;
}

export interface NewToken extends Token {
  token: string;
}

export interface NewGeneration {
  prompt: string;
  app?: string;
  agent?: { name?: string; maxBudgetUsd?: number; model?: string; maxTurns?: number };
  delivery?: DeliverySpec;
}

export interface ListQuery {
  app?: string;
  phase?: Phase;
  namespace?: string;
  limit?: number;
  continue?: string;
}

/** Any non-2xx answer (or a network failure, status 0), with what the server said about it. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request's JSON field the error is about, e.g. `prompt` or `agent.maxBudgetUsd`. */
  readonly field?: string;
  /** Seconds to wait before trying again (429). */
  readonly retryAfter?: number;

  constructor(status: number, code: string, message: string, field?: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const BASE = '/api/v1';

let csrfToken: string | undefined;
let onUnauthorized: (() => void) | undefined;

/** The app learns here that the session has ended (401 on a call that needed one). */
export function setUnauthorizedHandler(handler: (() => void) | undefined): void {
  onUnauthorized = handler;
}

/** Only the session calls may answer 401 without the session having ended: a wrong password,
 * or nobody signed in yet. */
const SESSION_PATHS = ['/auth/login', '/auth/me', '/auth/signup'];

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
  const error = await errorFrom(response);
  if (error.status === 401 && !SESSION_PATHS.includes(path)) onUnauthorized?.();
  throw error;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let code = 'http_' + response.status;
  let message = `The server answered ${response.status} ${response.statusText}.`.replace(' .', '.');
  let field: string | undefined;
  try {
    const parsed = (await response.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (parsed.error?.code) code = parsed.error.code;
    if (parsed.error?.message) message = parsed.error.message;
    field = parsed.error?.field;
  } catch {
    // Not JSON (e.g. a proxy's error page): the status line says enough.
  }
  const retryHeader = response.headers.get('Retry-After');
  const retryAfter = retryHeader !== null && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined;
  return new ApiError(response.status, code, message, field, retryAfter);
}

function query(params: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

function generationPath(namespace: string, name: string): string {
  return `/generations/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

interface Session {
  user: User;
  csrfToken: string;
}

function remember(session: Session): User {
  csrfToken = session.csrfToken;
  return session.user;
}

export const api = {
  config: () => request<Config>('GET', '/config'),

  /** The signed-in user, or undefined when nobody is (the server answers 200 without a user,
   * so a first visit logs no failed request; an older server's 401 means the same). */
  async me(): Promise<User | undefined> {
    try {
      const session = await request<Partial<Session>>('GET', '/auth/me');
      return session.user && session.csrfToken ? remember(session as Session) : undefined;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return undefined;
      throw error;
    }
  },

  login: async (username: string, password: string) =>
    remember(await request<Session>('POST', '/auth/login', { username, password })),

  /** A pending account (invite-only sign-up without a code) gets no session. */
  async signup(username: string, password: string, invite?: string): Promise<{ user: User; pending: boolean }> {
    const answer = await request<{ user: User; csrfToken?: string }>('POST', '/auth/signup', {
      username,
      password,
      ...(invite ? { invite } : {}),
    });
    if (answer.csrfToken) {
      csrfToken = answer.csrfToken;
      return { user: answer.user, pending: false };
    }
    return { user: answer.user, pending: true };
  },

  async logout(): Promise<void> {
    await request<void>('POST', '/auth/logout');
    csrfToken = undefined;
  },

  tokens: () => request<Page<Token>>('GET', '/tokens'),
  createToken: (name: string) => request<NewToken>('POST', '/tokens', { name }),
  revokeToken: (id: string) => request<void>('DELETE', `/tokens/${encodeURIComponent(id)}`),

  createGeneration: (body: NewGeneration) => request<Generation>('POST', '/generations', body),
  generations: (q: ListQuery = {}) => request<Page<Generation>>('GET', '/generations' + query(q)),
  generation: (namespace: string, name: string) => request<Generation>('GET', generationPath(namespace, name)),
  cancel: (namespace: string, name: string) =>
    request<Generation>('POST', generationPath(namespace, name) + '/cancel'),
  retry: (namespace: string, name: string) => request<Generation>('POST', generationPath(namespace, name) + '/retry'),
  continueWith: (namespace: string, name: string, prompt: string) =>
    request<Generation>('POST', generationPath(namespace, name) + '/continue', { prompt }),
  remove: (namespace: string, name: string) => request<void>('DELETE', generationPath(namespace, name)),
  eventsUrl: (namespace: string, name: string) => BASE + generationPath(namespace, name) + '/events',

  apps: () => request<Page<AppSummary>>('GET', '/apps'),

  adminUsers: () => request<Page<AdminUser>>('GET', '/admin/users'),
  updateUser: (id: string, patch: { status?: 'active' | 'disabled'; admin?: boolean; quota?: Partial<Quota> }) =>
    request<User>('PATCH', `/admin/users/${encodeURIComponent(id)}`, patch),
  createInvite: () => request<{ code: string }>('POST', '/admin/invites'),
  quotas: () => request<Quota>('GET', '/admin/quotas'),
  setQuotas: (quota: Quota) => request<Quota>('PUT', '/admin/quotas', quota),
  allGenerations: (q: ListQuery = {}) => request<Page<Generation>>('GET', '/admin/generations' + query(q)),
};

export function isFinished(generation: Generation): boolean {
  const phase = generation.status?.phase;
  return phase !== undefined && FINISHED_PHASES.includes(phase);
}
