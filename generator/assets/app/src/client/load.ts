// Loading data for a page: the answer belongs to a key (e.g. the entity and id in the URL), so a
// page never shows the previous page's data while the next one loads.
import { useEffect, useState } from 'react';
import { model } from '../shared/model';
import { findEntity, type EntityDef, type Row } from '../shared/schema';
import { api, messageOf } from './api';

export type Loaded<T> = { state: 'loading' } | { state: 'failed'; error: string } | { state: 'ready'; data: T };

export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [loaded, setLoaded] = useState<{ key: string; value: Loaded<T> }>();
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setLoaded({ key, value: { state: 'ready', data } }),
      (error: unknown) => current && setLoaded({ key, value: { state: 'failed', error: messageOf(error) } }),
    );
    return () => {
      current = false;
    };
    // `load` is a new function on every render; the key says when the data changes.
  }, [key]);
  return loaded?.key === key ? loaded.value : { state: 'loading' };
}

/** The records that the reference fields of `entity` can point at, by target entity name. */
export type Choices = Record<string, { target: EntityDef; rows: Row[] }>;

export function useChoices(entity: EntityDef): Loaded<Choices> {
  return useLoad(`choices:${entity.name}`, async () => {
    const targets = new Set(entity.fields.flatMap((field) => (field.type === 'reference' && field.references ? [field.references] : [])));
    const choices: Choices = {};
    for (const name of targets) {
      const target = findEntity(model, name);
      if (target !== undefined) choices[name] = { target, rows: await api.list(target) };
    }
    return choices;
  });
}
