// Follows a generation's event stream with EventSource, through network drops and server
// restarts, without losing or duplicating events. The decisions live in events.ts.

import { useEffect, useMemo, useRef, useState } from 'react';
import type { Generation, Outputs, Phase } from './api';
import {
  EVENT_TYPES,
  lastEventId,
  mergeEvent,
  orderedEvents,
  parseEvent,
  reconnectDelay,
  resumeUrl,
  type EventMap,
  type GenEvent,
} from './events';

export interface Outcome {
  phase: Phase;
  message?: string;
  outputs?: Outputs;
}

export interface StreamState {
  /** In the order the generator wrote them. */
  events: GenEvent[];
  /** The connection dropped and is being re-established. */
  reconnecting: boolean;
  outcome?: Outcome;
}

interface Handlers {
  /** A `status` event: the generation as it is now. */
  onStatus: (generation: Generation) => void;
  /** The last message; the stream is closed by then. */
  onOutcome: (outcome: Outcome) => void;
}

export function useEventStream(url: string | undefined, handlers: Handlers): StreamState {
  const [events, setEvents] = useState<EventMap>(() => new Map());
  const [reconnecting, setReconnecting] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  // The handlers change every render; the connection must not.
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    if (!url) return;
    setReconnecting(false);
    setOutcome(undefined);
    let source: EventSource | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let finished = false;
    // Everything received for this URL, across connections, so a reopen knows where to resume.
    let held: EventMap = new Map();
    setEvents(held);

    const connected = () => {
      failures = 0;
      setReconnecting(false);
    };

    const open = () => {
      // EventSource resends Last-Event-ID by itself when it reconnects; a new one cannot, so it
      // names the newest event held in the query instead.
      const es = new EventSource(resumeUrl(url, lastEventId(held)));
      source = es;
      es.onopen = connected;
      const onEvent = (message: MessageEvent<string>) => {
        const event = parseEvent(message.type, message.lastEventId, message.data);
        if (!event) return;
        held = mergeEvent(held, event);
        setEvents(held);
        connected();
      };
      for (const type of EVENT_TYPES) es.addEventListener(type, onEvent);
      es.addEventListener('status', (message: MessageEvent<string>) => {
        const generation = parseJson<Generation>(message.data);
        if (generation) handlersRef.current.onStatus(generation);
      });
      es.addEventListener('outcome', (message: MessageEvent<string>) => {
        // The server closes the stream after this; left open, EventSource would reconnect forever.
        finished = true;
        es.close();
        setReconnecting(false);
        const ended = parseJson<Outcome>(message.data);
        if (ended) {
          setOutcome(ended);
          handlersRef.current.onOutcome(ended);
        }
      });
      es.onerror = () => {
        if (finished || source !== es) return;
        setReconnecting(true);
        // While CONNECTING, EventSource retries by itself; once CLOSED (the server answered an
        // error status, e.g. 502 during a restart) it never will, so reopen it after a backoff.
        if (es.readyState === EventSource.CLOSED) {
          retryTimer = setTimeout(open, reconnectDelay(failures));
          failures += 1;
        }
      };
    };

    open();
    return () => {
      finished = true;
      clearTimeout(retryTimer);
      source?.close();
    };
  }, [url]);

  const ordered = useMemo(() => orderedEvents(events), [events]);
  return { events: ordered, reconnecting, outcome };
}

function parseJson<T>(data: string): T | undefined {
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}
