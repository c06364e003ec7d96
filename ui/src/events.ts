// The pure half of a generation's event stream: which events we hold, in what order, where to
// resume after a drop and how long to wait before trying. useEventStream.ts does the I/O.

/** The generator's event types; `status` and `outcome` are the server's own and carry no id. */
export const EVENT_TYPES = ['phase', 'log', 'agent', 'tool', 'gate', 'artifact', 'usage', 'result', 'error'] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One line of the generator's event log, as the stream delivers it. */
export interface GenEvent {
  /** The SSE id, `<attempt>-<seq>`. */
  id: string;
  attempt: number;
  seq: number;
  ts: string;
  type: EventType;
  body: Record<string, unknown>;
}

/** Events by SSE id: a resent event replaces nothing and adds nothing. */
export type EventMap = ReadonlyMap<string, GenEvent>;

/** Returns `events` itself when `event` is already there, so React sees no change. */
export function mergeEvent(events: EventMap, event: GenEvent): EventMap {
  if (events.has(event.id)) return events;
  const next = new Map(events);
  next.set(event.id, event);
  return next;
}

export function compareEvents(a: GenEvent, b: GenEvent): number {
  return a.attempt - b.attempt || a.seq - b.seq;
}

/** The events in the order the generator wrote them: by attempt, then by sequence number. */
export function orderedEvents(events: EventMap): GenEvent[] {
  return [...events.values()].sort(compareEvents);
}

/** The id to resume after: the newest event held. */
export function lastEventId(events: EventMap): string | undefined {
  let last: GenEvent | undefined;
  for (const event of events.values()) {
    if (!last || compareEvents(event, last) > 0) last = event;
  }
  return last?.id;
}

/** Reads one SSE message of a generator event type; undefined when it is not one. */
export function parseEvent(type: string, id: string, data: string): GenEvent | undefined {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) return undefined;
  let parsed: Partial<GenEvent>;
  try {
    parsed = JSON.parse(data) as Partial<GenEvent>;
  } catch {
    return undefined;
  }
  if (typeof parsed.attempt !== 'number' || typeof parsed.seq !== 'number') return undefined;
  const body = parsed.body !== null && typeof parsed.body === 'object' ? parsed.body : {};
  return {
    id: id || `${parsed.attempt}-${parsed.seq}`,
    attempt: parsed.attempt,
    seq: parsed.seq,
    ts: typeof parsed.ts === 'string' ? parsed.ts : '',
    type: type as EventType,
    body,
  };
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10_000;

/** How long to wait before reopening a stream that closed after `failures` failed tries in a
 * row: 1 s, 2 s, 4 s, 8 s, then 10 s, so a restarting server is not hammered. */
export function reconnectDelay(failures: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, failures), MAX_DELAY_MS);
}

/** A new EventSource cannot send Last-Event-ID, so a reopened stream names it in the query. */
export function resumeUrl(url: string, lastId: string | undefined): string {
  if (!lastId) return url;
  return `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastId)}`;
}
