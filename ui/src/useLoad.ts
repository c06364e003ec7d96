import { useCallback, useEffect, useState } from 'react';

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  /** Loads again, keeping what is shown until the answer comes. */
  reload: () => Promise<void>;
}

/** Loads once per change of `key`; answers that arrive after the key changed are dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown }>({ key });
  // `load` is a new function every render; `key` says when what it loads has changed.
  const run = useCallback(load, [key]);
  const reload = useCallback(async () => {
    try {
      const data = await run();
      setState((s) => (s.key === key ? { key, data } : s));
    } catch (error) {
      setState((s) => (s.key === key ? { key, data: s.data, error } : s));
    }
  }, [run, key]);
  useEffect(() => {
    setState((s) => (s.key === key ? s : { key }));
    void reload();
  }, [key, reload]);
  return state.key === key ? { data: state.data, error: state.error, reload } : { reload };
}
