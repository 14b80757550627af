/**
 * The rules of durable key/value state that both stores share: limits, compare-and-set, the key
 * range of a prefix, the row mapping. Values are stored as bytes (BLOB / bytea) of their UTF-8,
 * so U+0000 round-trips in PostgreSQL too, and the 1 MiB limit is exactly what is stored.
 */
import { PermanentError, TransientError } from "../errors.js";
import type { StateEntry, StateWrite } from "./types.js";

export const STATE_KEY_MAX_CHARS = 200;
export const STATE_VALUE_MAX_BYTES = 1024 * 1024;

export interface StateDbRow {
  key: string;
  value: Uint8Array;
  updated_at: number;
}

export function toStateEntry(row: StateDbRow): StateEntry {
  return { key: row.key, value: decodeValue(row.value), updatedAt: row.updated_at };
}

export function encodeValue(value: string): Buffer {
  return Buffer.from(value, "utf8");
}

export function decodeValue(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}

/**
 * Refuses writes no store can keep, before any transaction starts. The ingestor calls it too:
 * its group commit merges callers, and one caller's oversized value must not fail the others.
 */
export function checkStateWrites(writes: readonly StateWrite[]): void {
  for (const w of writes) {
    if (w.key.length === 0 || w.key.includes("\0")) {
      throw new PermanentError(
        "invalid_state_key",
        `state key ${JSON.stringify(w.key)} is empty or holds U+0000`,
      );
    }
    if ([...w.key].length > STATE_KEY_MAX_CHARS) {
      throw new PermanentError(
        "too_large",
        `state key ${JSON.stringify(w.key.slice(0, 40))}... is longer than ` +
          `${STATE_KEY_MAX_CHARS} characters`,
      );
    }
    if (w.value !== null && Buffer.byteLength(w.value, "utf8") > STATE_VALUE_MAX_BYTES) {
      throw new PermanentError(
        "too_large",
        `state value of ${JSON.stringify(w.key)} is larger than ${STATE_VALUE_MAX_BYTES} bytes`,
      );
    }
  }
}

/** Thrown when an `expect` does not hold: transient, the caller re-reads and tries again. */
export function stateConflict(key: string): TransientError {
  return new TransientError(
    "state_conflict",
    `state key ${JSON.stringify(key)} no longer holds the expected value`,
  );
}

/** What a call leaves behind per key: the final value (null: deleted), and whether guarded. */
export interface ResolvedState {
  key: string;
  value: string | null;
  /** Some write of this key carried an `expect`. */
  guarded: boolean;
}

/**
 * Replays `writes` in order over the current values (`current` holds every written key, undefined
 * when unset), checking each `expect` against the value the writes before it left. Returns one
 * entry per key, sorted by key so concurrent writers lock rows in one order.
 */
export function resolveStateWrites(
  writes: readonly StateWrite[],
  current: ReadonlyMap<string, string | undefined>,
): ResolvedState[] {
  const values = new Map(current);
  const guarded = new Set<string>();
  for (const w of writes) {
    if (w.expect !== undefined) {
      guarded.add(w.key);
      if ((values.get(w.key) ?? null) !== w.expect) throw stateConflict(w.key);
    }
    values.set(w.key, w.value ?? undefined);
  }
  return [...new Set(writes.map((w) => w.key))]
    .sort(compareKeys)
    .map((key) => ({ key, value: values.get(key) ?? null, guarded: guarded.has(key) }));
}

/**
 * The key range `[from, to)` holding exactly the keys that start with `prefix`, under the byte
 * order of UTF-8 (SQLite's BINARY collation, PostgreSQL's "C"), which is code point order: `to`
 * is the prefix with its last code point incremented, so the lookup is an index range scan.
 */
export function prefixRange(prefix: string): { from: string; to: string | null } {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const next = points.pop()! + 1;
    if (next > 0x10ffff) continue; // no successor: the range ends at the shorter prefix's
    points.push(next === 0xd800 ? 0xe000 : next); // surrogates are not characters
    return { from: prefix, to: String.fromCodePoint(...points) };
  }
  return { from: prefix, to: null };
}

/** Code point order (UTF-16 `<` differs above U+FFFF), matching the stores' key order. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
