// Stand-ins for the two things a browser gives the app: fetch answered by a table of routes,
// and an EventSource the test drives by hand.

import { vi } from 'vitest';
import type { Config, Generation, User } from '../api';
import type { SessionValue } from '../session';

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Route = Answer | ((call: Call) => Answer);

/** Stubs fetch; `routes` maps "METHOD /api/v1/path?query" to an answer. Unknown routes are 404. */
export function stubFetch(routes: Record<string, Route>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      const call: Call = {
        method,
        path: input,
        headers: { ...(init.headers as Record<string, string>) },
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      };
      calls.push(call);
      const route = routes[`${method} ${input}`];
      const answer: Answer = route === undefined
        ? { status: 404, body: { error: { code: 'not_found', message: `No route ${method} ${input} in the test.` } } }
        : typeof route === 'function' ? route(call) : route;
      const body = answer.body === undefined ? null : JSON.stringify(answer.body);
      return new Response(answer.status === 204 ? null : body, {
        status: answer.status,
        headers: { 'Content-Type': 'application/json', ...answer.headers },
      });
    }),
  );
  return calls;
}

type Listener = (event: MessageEvent<string>) => void;

/** Each instance is one connection; the test plays the server through it. */
export class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readonly url: string;
  readyState = FakeEventSource.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  private listeners = new Map<string, Listener[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }

  static install(): void {
    FakeEventSource.instances = [];
    vi.stubGlobal('EventSource', FakeEventSource);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances[FakeEventSource.instances.length - 1];
    if (!last) throw new Error('no EventSource was opened');
    return last;
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }

  open(): void {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.(new Event('open'));
  }

  /** Sends one SSE message; ignored once closed, as a real EventSource would. */
  send(type: string, data: unknown, id = ''): void {
    if (this.readyState === FakeEventSource.CLOSED) return;
    const event = new MessageEvent<string>(type, { data: JSON.stringify(data), lastEventId: id });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** A generator event line as the server frames it. */
  sendEvent(attempt: number, seq: number, type: string, body: object): void {
    this.send(type, { seq, ts: '2025-01-01T00:00:00Z', attempt, type, body }, `${attempt}-${seq}`);
  }

  /** The connection fails; `closed` is how EventSource gives up (an HTTP error answer). */
  fail(closed: boolean): void {
    this.readyState = closed ? FakeEventSource.CLOSED : FakeEventSource.CONNECTING;
    this.onerror?.(new Event('error'));
  }
}

export const config: Config = {
  signup: 'open',
  agents: ['scaffold', 'claude-code'],
  defaultAgent: 'scaffold',
  deployTargets: ['preview'],
  maxPromptBytes: 65536,
};

export function user(overrides: Partial<User> = {}): User {
  return {
    id: 'u1',
    username: 'alice',
    admin: false,
    status: 'active',
    namespace: 'user-alice',
    createdAt: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

export function generation(overrides: Partial<Generation> = {}): Generation {
  const namespace = overrides.namespace ?? 'user-alice';
  const name = overrides.name ?? 'todo-list-abcde';
  const base = `/api/v1/generations/${namespace}/${name}`;
  return {
    namespace,
    name,
    uid: 'uid-1',
    createdAt: '2025-01-01T00:00:00Z',
    spec: { prompt: 'A tiny todo list with a title and a done flag', app: 'todo-list' },
    status: { phase: 'Running', step: 'prepare', conditions: [], attempts: [], verification: [] },
    links: { self: base, events: `${base}/events`, screenshots: [] },
    ...overrides,
  };
}

/** The session every signed-in page expects around it. */
export function sessionFor(overrides: Partial<SessionValue> = {}): SessionValue {
  return {
    config,
    user: user(),
    signedIn: () => {},
    signOut: async () => {},
    ...overrides,
  };
}
