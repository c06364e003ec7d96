// A small client-side router on the History API: the path is React state, links push to it.
import { useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';
import type { EntityDef } from '../shared/schema';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(to: string): void {
  window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

export function Link({ to, className, children }: { to: string; className?: string; children: ReactNode }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    // Let the browser handle new tabs and windows.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} className={className} onClick={follow}>
      {children}
    </a>
  );
}

export const hrefs = {
  list: (entity: EntityDef) => `/${entity.path}`,
  create: (entity: EntityDef) => `/${entity.path}/new`,
  show: (entity: EntityDef, id: string) => `/${entity.path}/${encodeURIComponent(id)}`,
  edit: (entity: EntityDef, id: string) => `/${entity.path}/${encodeURIComponent(id)}/edit`,
};
