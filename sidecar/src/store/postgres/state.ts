import type pg from "pg";
import {
  decodeValue,
  encodeValue,
  prefixRange,
  resolveStateWrites,
  stateConflict,
  toStateEntry,
  type StateDbRow,
} from "../state.js";
import type { StateEntry, StateWrite } from "../types.js";

/**
 * Key/value state of the PostgreSQL store (`s`: the quoted schema). Several sidecars may write
 * the same keys, so `write` locks the rows it reads (`FOR UPDATE`, in key order) for the
 * compare-and-set, and a key that did not exist, which no lock can cover, is only inserted if
 * it still does not exist (see `upsert`).
 */
export function createPostgresState(pool: pg.Pool, s: string) {
  const sql = {
    get: `SELECT value FROM ${s}.kv WHERE key = $1`,
    // Two texts, not `($2 IS NULL OR key < $2)`: a generic plan would not bound the index scan.
    list: `SELECT key, value, updated_at FROM ${s}.kv WHERE key >= $1 AND key < $2 ORDER BY key`,
    listFrom: `SELECT key, value, updated_at FROM ${s}.kv WHERE key >= $1 ORDER BY key`,
    lock: `SELECT key, value FROM ${s}.kv WHERE key = ANY ($1::text[]) ORDER BY key FOR UPDATE`,
    /**
     * $4 lists the guarded keys found unset: if another sidecar inserted one meanwhile, the
     * conflict leaves its row alone and returns nothing for it, which the caller reports.
     */
    upsert: `
      INSERT INTO ${s}.kv AS k (key, value, updated_at)
      SELECT w.key, w.value, $3 FROM unnest($1::text[], $2::bytea[]) AS w(key, value)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        WHERE NOT (k.key = ANY ($4::text[]))
      RETURNING key`,
    remove: `DELETE FROM ${s}.kv WHERE key = ANY ($1::text[])`,
  };

  return {
    async read(key: string): Promise<string | undefined> {
      if (key.includes("\0")) return undefined; // text cannot hold it, so no key has it
      const { rows } = await pool.query<Pick<StateDbRow, "value">>(sql.get, [key]);
      return rows[0] && decodeValue(rows[0].value);
    },

    async list(prefix: string): Promise<StateEntry[]> {
      if (prefix.includes("\0")) return [];
      const { from, to } = prefixRange(prefix);
      const { rows } =
        to === null
          ? await pool.query<StateDbRow>(sql.listFrom, [from])
          : await pool.query<StateDbRow>(sql.list, [from, to]);
      return rows.map(toStateEntry);
    },

    /** Runs inside the caller's transaction; throws `state_conflict`, which rolls it back. */
    async write(client: pg.PoolClient, writes: readonly StateWrite[], now: number) {
      if (writes.length === 0) return;
      const keys = [...new Set(writes.map((w) => w.key))];
      const locked = await client.query<Pick<StateDbRow, "key" | "value">>(sql.lock, [keys]);
      const current = new Map<string, string | undefined>(keys.map((key) => [key, undefined]));
      for (const row of locked.rows) current.set(row.key, decodeValue(row.value));

      const resolved = resolveStateWrites(writes, current);
      const set = resolved.filter((r) => r.value !== null);
      if (set.length > 0) {
        const insertOnly = set.filter((r) => r.guarded && current.get(r.key) === undefined);
        const written = await client.query<{ key: string }>(sql.upsert, [
          set.map((r) => r.key),
          set.map((r) => encodeValue(r.value!)),
          now,
          insertOnly.map((r) => r.key),
        ]);
        const done = new Set(written.rows.map((row) => row.key));
        const lost = set.find((r) => !done.has(r.key));
        if (lost) throw stateConflict(lost.key);
      }
      const removed = resolved.filter((r) => r.value === null && current.get(r.key) !== undefined);
      if (removed.length > 0) await client.query(sql.remove, [removed.map((r) => r.key)]);
    },
  };
}
