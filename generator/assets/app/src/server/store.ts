// Keeps every record in one JSON file under the data directory. Each change rewrites the file
// through a temporary file and a rename, so a crash never leaves half a file behind.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Row } from '../shared/schema';

export class JsonStore {
  private readonly file: string;
  private readonly collections: Map<string, Row[]>;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'db.json');
    fs.mkdirSync(dataDir, { recursive: true });
    this.collections = new Map(Object.entries(readFile(this.file)));
  }

  list(collection: string): Row[] {
    return this.collections.get(collection) ?? [];
  }

  get(collection: string, id: string): Row | undefined {
    return this.list(collection).find((row) => row.id === id);
  }

  insert(collection: string, values: Record<string, unknown>): Row {
    const now = new Date().toISOString();
    const row: Row = { id: randomUUID(), ...values, createdAt: now, updatedAt: now };
    this.collections.set(collection, [...this.list(collection), row]);
    this.save();
    return row;
  }

  replace(collection: string, id: string, values: Record<string, unknown>): Row | undefined {
    const old = this.get(collection, id);
    if (old === undefined) return undefined;
    const row: Row = { id, ...values, createdAt: old.createdAt, updatedAt: new Date().toISOString() };
    this.collections.set(collection, this.list(collection).map((each) => (each.id === id ? row : each)));
    this.save();
    return row;
  }

  remove(collection: string, id: string): boolean {
    const rows = this.list(collection);
    const kept = rows.filter((row) => row.id !== id);
    if (kept.length === rows.length) return false;
    this.collections.set(collection, kept);
    this.save();
    return true;
  }

  private save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(this.collections), null, 2)}\n`);
    fs.renameSync(temporary, this.file);
  }
}

function readFile(file: string): Record<string, Row[]> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  // A damaged file stops the server rather than being overwritten with an empty one.
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${file} does not hold a JSON object of collections`);
  }
  return data as Record<string, Row[]>;
}
