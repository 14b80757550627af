import type Database from "better-sqlite3";

/**
 * Schema migrations, applied in order on open; `PRAGMA user_version` records the last one
 * applied. Append a migration to change the schema, never edit a released one.
 *
 * Inbox and outbox are one table (`messages`): every new (site, id) gets exactly one outbox row,
 * so a second table would only double the writes of the hot path. The partial indexes cover
 * only unsettled rows (pending, leased), so their size follows the backlog, not the history.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    order_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending'
      CHECK (state IN ('pending', 'leased', 'applied', 'duplicate', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    -- when the row may be leased next: 0 when new, the retry time, or the lease expiry
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_code TEXT,
    last_message TEXT,
    ref TEXT,
    settled_at INTEGER,
    UNIQUE (site, event_id)
  ) STRICT;
  CREATE INDEX messages_unsettled ON messages (seq) WHERE state IN ('pending', 'leased');
  -- rows that hold their key back (live lease, retry); new rows (0) stay out of it, so ingest
  -- does not pay for it
  CREATE INDEX messages_waiting ON messages (next_attempt_at, site, order_key)
    WHERE state IN ('pending', 'leased') AND next_attempt_at > 0;
  CREATE INDEX messages_order_key ON messages (order_key, seq);

  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    event_id TEXT,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_encoding TEXT NOT NULL CHECK (payload_encoding IN ('utf8', 'base64')),
    payload_size INTEGER NOT NULL,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    repeats INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'replayed', 'discarded')),
    in_inbox INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX dead_letters_open ON dead_letters (site) WHERE state = 'open';
  CREATE INDEX dead_letters_event ON dead_letters (site, event_id) WHERE in_inbox = 1;

  -- every site ever seen, so stats report a drained site as 0 instead of forgetting it
  CREATE TABLE sites (site TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
  `,
  // 2: durable key/value state written with ingested items (watermarks, reported dead letters,
  // aggregation counters). A rowid table: values may reach 1 MiB, too big for WITHOUT ROWID.
  `
  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 3: a budget of open dead letters per site and code; what it evicted is counted here.
  `
  CREATE INDEX dead_letters_open_code ON dead_letters (site, code, id) WHERE state = 'open';
  CREATE TABLE dead_letter_evictions (
    site TEXT NOT NULL,
    code TEXT NOT NULL,
    evicted INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (site, code)
  ) STRICT, WITHOUT ROWID;
  `,
  // 4: priority lanes (canonical/lanes.ts). The lease's first pass walks the unsettled critical
  // rows per key, a small index even under a large bulk backlog. Unsettled rows of an older
  // release take their lane from their type.
  `
  ALTER TABLE messages ADD COLUMN lane TEXT NOT NULL DEFAULT 'critical'
    CHECK (lane IN ('critical', 'bulk'));
  UPDATE messages SET lane = 'bulk'
    WHERE type = 'machine_status' AND state IN ('pending', 'leased');
  CREATE INDEX messages_critical ON messages (site, order_key, seq)
    WHERE state IN ('pending', 'leased') AND lane = 'critical';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to `SCHEMA_VERSION` (tests pass an older `target` to build the file a
 * previous release left) in one transaction; refuses a newer database.
 */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): void {
  if (!Number.isInteger(target) || target < 0 || target > SCHEMA_VERSION) {
    throw new Error(`no store schema version ${target}`);
  }
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `store schema version ${current} is newer than this sidecar understands (${SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < target; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    // PRAGMA takes no bound parameters: the version is a checked integer.
    if (current < target) db.pragma(`user_version = ${Math.trunc(target)}`);
  }).immediate();
}
