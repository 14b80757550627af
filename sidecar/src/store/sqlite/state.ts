import type Database from "better-sqlite3";
import {
  decodeValue,
  encodeValue,
  prefixRange,
  resolveStateWrites,
  toStateEntry,
  type StateDbRow,
} from "../state.js";
import type { StateEntry, StateWrite } from "../types.js";

/**
 * Key/value state of the SQLite store. `write` runs inside the caller's `BEGIN IMMEDIATE`
 * transaction, which holds the database's write lock: the values read for the compare-and-set
 * cannot change before the commit, even with another process on the same file.
 */
export function createSqliteState(db: Database.Database) {
  const get = db.prepare(`SELECT value FROM kv WHERE key = ?`).pluck();
  // Two statements, not `(@to IS NULL OR key < @to)`, so each is a bounded index range.
  const list = db.prepare(
    `SELECT key, value, updated_at FROM kv WHERE key >= @from AND key < @to ORDER BY key`,
  );
  const listFrom = db.prepare(
    `SELECT key, value, updated_at FROM kv WHERE key >= @from ORDER BY key`,
  );
  const upsert = db.prepare(
    `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare(`DELETE FROM kv WHERE key = ?`);

  function read(key: string): string | undefined {
    const value = get.get(key) as Uint8Array | undefined;
    return value === undefined ? undefined : decodeValue(value);
  }

  return {
    read,

    list(prefix: string): StateEntry[] {
      const range = prefixRange(prefix);
      const rows = range.to === null ? listFrom.all(range) : list.all(range);
      return (rows as StateDbRow[]).map(toStateEntry);
    },

    /** Must run inside a write transaction; throws `state_conflict` before writing anything. */
    write(writes: readonly StateWrite[], now: number): void {
      if (writes.length === 0) return;
      const current = new Map(writes.map((w) => [w.key, read(w.key)]));
      for (const { key, value } of resolveStateWrites(writes, current)) {
        if (value !== null) upsert.run(key, encodeValue(value), now);
        else if (current.get(key) !== undefined) remove.run(key);
      }
    },
  };
}
