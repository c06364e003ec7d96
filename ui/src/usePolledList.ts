import { useCallback, useEffect, useRef, useState } from 'react';
import { isFinished, type Generation, type ListQuery, type Page } from './api';

/** How often a list with unfinished generations is refreshed. */
export const POLL_MS = 3000;

export interface PolledList {
  items?: Generation[];
  error?: unknown;
  /** Older generations exist beyond what is shown. */
  more: boolean;
  loadMore: () => Promise<void>;
}

/**
 * A generations list that stays live by polling its first page every 3 s while anything in it
 * is unfinished. Polling rather than one SSE stream per row: a list can hold dozens of
 * generations, the list answer is cheap, and a poll recovers from a dropped connection or a
 * server restart by itself with no reconnect logic. Older pages ("Show more") are appended once;
 * they are rarely live.
 */
export function usePolledList(load: (q: ListQuery) => Promise<Page<Generation>>): PolledList {
  const [first, setFirst] = useState<Page<Generation>>();
  const [older, setOlder] = useState<Generation[]>([]);
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      let live = true;
      try {
        const page = await loadRef.current({});
        if (stopped) return;
        setFirst(page);
        setError(undefined);
        live = page.items.some((g) => !isFinished(g));
      } catch (e) {
        if (stopped) return;
        setError(e);
      }
      if (live) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const more = (older.length > 0 ? next : first?.continue) !== undefined;

  const loadMore = useCallback(async () => {
    const token = older.length > 0 ? next : first?.continue;
    if (!token) return;
    try {
      const page = await loadRef.current({ continue: token });
      setOlder((held) => [...held, ...page.items]);
      setNext(page.continue);
    } catch (e) {
      setError(e);
    }
  }, [first, next, older.length]);

  let items: Generation[] | undefined;
  if (first) {
    const shown = new Set(first.items.map((g) => `${g.namespace}/${g.name}`));
    items = [...first.items, ...older.filter((g) => !shown.has(`${g.namespace}/${g.name}`))];
  }
  return { items, error, more, loadMore };
}
