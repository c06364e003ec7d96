import { describe, expect, it } from 'vitest';
import {
  lastEventId,
  mergeEvent,
  orderedEvents,
  parseEvent,
  reconnectDelay,
  resumeUrl,
  type EventMap,
  type GenEvent,
} from './events';

function ev(attempt: number, seq: number, type: GenEvent['type'] = 'log'): GenEvent {
  return { id: `${attempt}-${seq}`, attempt, seq, ts: '', type, body: { message: `line ${attempt}.${seq}` } };
}

function mergeAll(events: EventMap, list: GenEvent[]): EventMap {
  return list.reduce(mergeEvent, events);
}

describe('event merging', () => {
  it('keeps one copy of each event when a reconnect replays what was already held', () => {
    const before = mergeAll(new Map(), [ev(1, 1), ev(1, 2), ev(1, 3)]);
    // The server resumes after the Last-Event-ID it was sent, but a proxy or a replay of a
    // finished generation may send some again.
    const after = mergeAll(before, [ev(1, 2), ev(1, 3), ev(1, 4), ev(1, 5)]);
    expect(orderedEvents(after).map((e) => e.id)).toEqual(['1-1', '1-2', '1-3', '1-4', '1-5']);
  });

  it('returns the same map for a duplicate, so nothing re-renders', () => {
    const held = mergeAll(new Map(), [ev(1, 1)]);
    expect(mergeEvent(held, ev(1, 1))).toBe(held);
    expect(mergeEvent(held, ev(1, 2))).not.toBe(held);
    expect(held.size).toBe(1);
  });

  it('orders by attempt, then by sequence number as numbers', () => {
    const held = mergeAll(new Map(), [ev(2, 1), ev(1, 10), ev(1, 9), ev(2, 11), ev(2, 2), ev(1, 1)]);
    expect(orderedEvents(held).map((e) => e.id)).toEqual(['1-1', '1-9', '1-10', '2-1', '2-2', '2-11']);
  });

  it('resumes after the newest event held, whatever order they came in', () => {
    expect(lastEventId(new Map())).toBeUndefined();
    expect(lastEventId(mergeAll(new Map(), [ev(1, 10), ev(2, 3), ev(1, 12)]))).toBe('2-3');
    expect(lastEventId(mergeAll(new Map(), [ev(1, 9), ev(1, 10)]))).toBe('1-10');
  });
});

describe('parseEvent', () => {
  it('reads a generator event and keys it by its SSE id', () => {
    const data = JSON.stringify({ seq: 4, ts: '2025-01-01T00:00:00Z', attempt: 2, type: 'gate', body: { gate: 'build', passed: true } });
    expect(parseEvent('gate', '2-4', data)).toEqual({
      id: '2-4',
      attempt: 2,
      seq: 4,
      ts: '2025-01-01T00:00:00Z',
      type: 'gate',
      body: { gate: 'build', passed: true },
    });
  });

  it('rejects the server’s own messages and malformed data', () => {
    expect(parseEvent('status', '', '{}')).toBeUndefined();
    expect(parseEvent('log', '1-1', 'not json')).toBeUndefined();
    expect(parseEvent('log', '1-1', JSON.stringify({ seq: '1', attempt: 1 }))).toBeUndefined();
  });
});

describe('reconnecting', () => {
  it('backs off from 1 s, doubling, to at most 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 20].map(reconnectDelay)).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it('names the last event in the query of a new stream', () => {
    const url = '/api/v1/generations/ns/todo/events';
    expect(resumeUrl(url, undefined)).toBe(url);
    expect(resumeUrl(url, '1-42')).toBe(`${url}?lastEventId=1-42`);
    expect(resumeUrl(`${url}?x=1`, '2-3')).toBe(`${url}?x=1&lastEventId=2-3`);
  });
});
