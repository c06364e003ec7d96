// REST routes for one entity: list, read, create, replace and delete under /api/<path>.
import { Router, type Response } from 'express';
import { model } from '../shared/model';
import { findEntity, referencesTo, type EntityDef, type FieldError } from '../shared/schema';
import type { JsonStore } from './store';
import { checkBody, type Exists } from './validate';

export function crudRoutes(entity: EntityDef, store: JsonStore): Router {
  const router = Router();
  const exists: Exists = (name, id) => {
    const target = findEntity(model, name);
    return target !== undefined && store.get(target.path, id) !== undefined;
  };
  const notFound = { error: `${entity.label} not found` };

  router.get('/', (_req, res) => {
    res.json(store.list(entity.path));
  });

  router.get('/:id', (req, res) => {
    const row = store.get(entity.path, req.params.id);
    if (row === undefined) res.status(404).json(notFound);
    else res.json(row);
  });

  router.post('/', (req, res) => {
    const checked = checkBody(entity, req.body, exists);
    if (!checked.ok) {
      rejectBody(res, checked.errors);
      return;
    }
    res.status(201).json(store.insert(entity.path, checked.values));
  });

  router.put('/:id', (req, res) => {
    if (store.get(entity.path, req.params.id) === undefined) {
      res.status(404).json(notFound);
      return;
    }
    const checked = checkBody(entity, req.body, exists);
    if (!checked.ok) {
      rejectBody(res, checked.errors);
      return;
    }
    res.json(store.replace(entity.path, req.params.id, checked.values));
  });

  router.delete('/:id', (req, res) => {
    const id = req.params.id;
    if (store.get(entity.path, id) === undefined) {
      res.status(404).json(notFound);
      return;
    }
    // A record that others point at stays, so no reference is ever left dangling.
    for (const { entity: user, field } of referencesTo(model, entity.name)) {
      const count = store.list(user.path).filter((row) => row[field.name] === id && row.id !== id).length;
      if (count > 0) {
        const what = count === 1 ? user.label : user.pluralLabel;
        res.status(409).json({ error: `This ${entity.label} is used by ${count} ${what}; change or delete those first` });
        return;
      }
    }
    store.remove(entity.path, id);
    res.status(204).end();
  });

  return router;
}

// 400 with every problem, each naming its field, and all of them in one sentence for people.
function rejectBody(res: Response, errors: FieldError[]): void {
  res.status(400).json({ error: errors.map((e) => e.message).join('; '), errors });
}
