import { createHash } from "node:crypto";
import type pg from "pg";

/**
 * Schema migrations, applied in order on open; `schema_version` records the last one applied.
 * Append a migration to change the schema, never edit a released one. `s` is the quoted schema.
 * Same layout as the SQLite store (see sqlite/schema.ts), plus a partial index on the unsettled
 * rows of each key, which the lease's concurrency check walks.
 */
const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.messages (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    order_key text NOT NULL,
    payload text NOT NULL,
    source text NOT NULL,
    origin text NOT NULL,
    received_at bigint NOT NULL,
    duplicates integer NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'pending'
      CHECK (state IN ('pending', 'leased', 'applied', 'duplicate', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until bigint,
    -- when the row may be leased next: 0 when new, the retry time, or the lease expiry
    next_attempt_at bigint NOT NULL DEFAULT 0,
    last_code text,
    last_message text,
    ref text,
    settled_at bigint,
    UNIQUE (site, event_id)
  );
  CREATE INDEX messages_unsettled ON ${s}.messages (seq) WHERE state IN ('pending', 'leased');
  -- rows that hold their key back (live lease, retry); new rows (0) stay out of it, so ingest
  -- does not pay for it
  CREATE INDEX messages_waiting ON ${s}.messages (next_attempt_at, site, order_key)
    WHERE state IN ('pending', 'leased') AND next_attempt_at > 0;
  CREATE INDEX messages_unsettled_key ON ${s}.messages (site, order_key, seq)
    WHERE state IN ('pending', 'leased');
  CREATE INDEX messages_order_key ON ${s}.messages (order_key, seq);
  -- A queue table: every event is updated at least twice (lease, settle) and the lease walks the
  -- partial indexes from their oldest entry, so dead entries must be vacuumed early, not after
  -- the default 20 % of the table.
  ALTER TABLE ${s}.messages SET
    (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

  CREATE TABLE ${s}.dead_letters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site text NOT NULL,
    event_id text,
    code text NOT NULL,
    message text NOT NULL,
    payload text NOT NULL,
    payload_encoding text NOT NULL CHECK (payload_encoding IN ('utf8', 'base64')),
    payload_size integer NOT NULL,
    source text NOT NULL,
    origin text NOT NULL,
    fingerprint text NOT NULL UNIQUE,
    repeats integer NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'replayed', 'discarded')),
    in_inbox boolean NOT NULL DEFAULT false,
    note text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE INDEX dead_letters_open ON ${s}.dead_letters (site) WHERE state = 'open';
  CREATE INDEX dead_letters_event ON ${s}.dead_letters (site, event_id) WHERE in_inbox;

  -- every site ever seen, so stats report a drained site as 0 instead of forgetting it
  CREATE TABLE ${s}.sites (site text PRIMARY KEY);
  `,
  // 2: durable key/value state written with ingested items (watermarks, reported dead letters,
  // aggregation counters). Keys in "C" order so a prefix is an index range (see state.ts);
  // values are bytes, as text cannot hold U+0000.
  (s) => `
  CREATE TABLE ${s}.kv (
    key text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL,
    updated_at bigint NOT NULL
  );
  `,
  // 3: a budget of open dead letters per site and code; what it evicted is counted here.
  (s) => `
  CREATE INDEX dead_letters_open_code ON ${s}.dead_letters (site, code, id) WHERE state = 'open';
  CREATE TABLE ${s}.dead_letter_evictions (
    site text NOT NULL,
    code text NOT NULL,
    evicted bigint NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (site, code)
  );
  `,
  // 4: priority lanes, as in the SQLite store (sqlite/schema.ts).
  (s) => `
  ALTER TABLE ${s}.messages ADD COLUMN lane text NOT NULL DEFAULT 'critical'
    CHECK (lane IN ('critical', 'bulk'));
  UPDATE ${s}.messages SET lane = 'bulk'
    WHERE type = 'machine_status' AND state IN ('pending', 'leased');
  CREATE INDEX messages_critical ON ${s}.messages (site, order_key, seq)
    WHERE state IN ('pending', 'leased') AND lane = 'critical';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A schema name safe to splice into SQL, quoted. */
export function quoteSchema(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
  }
  return `"${schema}"`;
}

/**
 * Brings the schema to `SCHEMA_VERSION` (tests pass an older `target` to build the schema a
 * previous release left) in one transaction under an advisory lock keyed by the schema name, so
 * sidecars starting together wait for the first one's migration instead of racing on `CREATE`
 * (which fails with a unique violation even with `IF NOT EXISTS`).
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  target = SCHEMA_VERSION,
): Promise<void> {
  const s = quoteSchema(schema);
  if (!Number.isInteger(target) || target < 0 || target > SCHEMA_VERSION) {
    throw new Error(`no store schema version ${target}`);
  }
  const lockKey = createHash("sha256")
    .update(`plant-bridge:migrate:${schema}`)
    .digest()
    .readBigInt64BE(0);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey.toString()]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(
      `SELECT version FROM ${s}.schema_version`,
    );
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `store schema version ${current} is newer than this sidecar understands (${SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < target; version++) {
      await client.query(MIGRATIONS[version]!(s));
    }
    if (rows.length === 0) {
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [target]);
    } else if (current < target) {
      await client.query(`UPDATE ${s}.schema_version SET version = $1`, [target]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
