import Database from "better-sqlite3";
import { orderKeyOf, type CanonicalEvent } from "../../canonical/types.js";
import {
  DEFAULT_LIST_LIMIT,
  PURGE_BATCH,
  checkReplacement,
  deadLetterNotFound,
  deadLetterStateConflict,
  inboxFingerprint,
  lastOutcomePerSeq,
  toDeadLetter,
  toMessageRow,
  toOutboxRow,
  type DeadLetterDbRow,
  type EventItem,
  type MessageDbRow,
  type RejectItem,
} from "../common.js";
import type {
  DeadLetterFilter,
  IngestItem,
  IngestResult,
  LeaseOptions,
  MessageFilter,
  Outcome,
  PurgeOptions,
  SiteStats,
  Store,
} from "../types.js";
import { migrate } from "./schema.js";

export interface SqliteStoreOptions {
  /** Database file, or `":memory:"` (tests). The parent directory must exist. */
  path: string;
  /** How long a write waits for another connection's lock before failing. @default 5000 */
  busyTimeoutMs?: number;
}

/**
 * The embedded store. better-sqlite3 is synchronous and one connection serialises everything, so
 * each method is one `BEGIN IMMEDIATE` transaction and needs no locking of its own; WAL with
 * `synchronous=FULL` makes every commit durable before the method resolves (ARCHITECTURE.md
 * "Delivery guarantees").
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  migrate(db);

  const sql = prepareStatements(db);
  const knownSites = new Set<string>();
  const listStatements = new Map<string, Database.Statement>();

  /** `knownSites` is only filled once the transaction committed (see `ingest`). */
  function noteSite(site: string): void {
    if (!knownSites.has(site)) sql.addSite.run(site);
  }

  function ingestEvent(item: EventItem): IngestResult {
    const { event } = item;
    noteSite(event.site);
    const inserted = sql.insertMessage.get(
      event.site,
      event.id,
      event.type,
      item.orderKey,
      JSON.stringify(event),
      item.source,
      item.origin,
      item.receivedAt,
    ) as { seq: number } | undefined;
    if (inserted) return { status: "accepted", seq: inserted.seq };
    sql.countDuplicate.run(event.site, event.id);
    return { status: "duplicate" };
  }

  function ingestRejection({ rejection: r, receivedAt }: RejectItem): IngestResult {
    noteSite(r.site);
    const row = sql.upsertRejection.get({
      site: r.site,
      eventId: r.eventId ?? null,
      code: r.code,
      message: r.message,
      payload: r.payload,
      encoding: r.payloadEncoding,
      size: r.payloadSize,
      source: r.source,
      origin: r.origin,
      fingerprint: r.fingerprint,
      at: receivedAt,
    }) as { id: number; repeats: number };
    return { status: "dead_letter", deadLetterId: row.id, repeated: row.repeats > 0 };
  }

  const ingest = db.transaction((items: IngestItem[]) =>
    items.map((item) => (item.kind === "event" ? ingestEvent(item) : ingestRejection(item))),
  );

  const lease = db.transaction((o: LeaseOptions) => {
    const now = o.now ?? Date.now();
    const until = now + o.leaseMs;
    const rows = sql.lease.all({
      owner: o.owner,
      now,
      until,
      limit: Math.max(0, Math.trunc(o.limit)),
      sites: o.sites === undefined ? null : JSON.stringify(o.sites),
    }) as MessageDbRow[];
    return rows.sort((a, b) => a.seq - b.seq).map(toOutboxRow);
  });

  function settleOne(owner: string, o: Outcome, now: number): void {
    switch (o.status) {
      case "applied":
      case "duplicate":
        sql.settleDone.run({
          owner,
          seq: o.seq,
          state: o.status,
          ref: o.ref ?? null,
          at: o.at ?? now,
        });
        return;
      case "retry":
        sql.settleRetry.run({
          owner,
          seq: o.seq,
          retryAt: o.retryAt,
          code: o.code,
          message: o.message,
        });
        return;
      case "rejected": {
        const at = o.at ?? now;
        const row = sql.settleDead.get({
          owner,
          seq: o.seq,
          code: o.code,
          message: o.message,
          at,
        }) as Pick<MessageDbRow, "site" | "event_id" | "payload" | "source" | "origin"> | undefined;
        if (!row) return;
        sql.upsertInboxDeadLetter.run({
          site: row.site,
          eventId: row.event_id,
          code: o.code,
          message: o.message,
          payload: row.payload,
          size: Buffer.byteLength(row.payload),
          source: row.source,
          origin: row.origin,
          fingerprint: inboxFingerprint(row.site, row.event_id),
          at,
        });
      }
    }
  }

  const settle = db.transaction((owner: string, outcomes: Outcome[]) => {
    const now = Date.now();
    for (const outcome of lastOutcomePerSeq(outcomes)) settleOne(owner, outcome, now);
  });

  function loadDeadLetter(id: number): DeadLetterDbRow | undefined {
    return sql.getDeadLetter.get(id) as DeadLetterDbRow | undefined;
  }

  function requeue(dl: DeadLetterDbRow, event: CanonicalEvent | undefined, now: number): void {
    const eventId = dl.event_id ?? "";
    const current = sql.messageState.get(dl.site, eventId) as { state: string } | undefined;
    if (current && current.state !== "dead") {
      throw deadLetterStateConflict(dl.id, `open while its event is ${current.state}`, "replay");
    }
    if (current) {
      sql.requeue.run({
        site: dl.site,
        eventId,
        payload: event ? JSON.stringify(event) : null,
        type: event?.type ?? null,
        orderKey: event ? orderKeyOf(event) : null,
      });
      return;
    }
    // The event row was purged meanwhile: the dead letter still holds the whole event.
    const replacement = event ?? (JSON.parse(dl.payload) as CanonicalEvent);
    sql.insertMessage.run(
      dl.site,
      eventId,
      replacement.type,
      orderKeyOf(replacement),
      JSON.stringify(replacement),
      dl.source,
      dl.origin,
      now,
    );
  }

  const markReplayed = db.transaction((id: number, event: CanonicalEvent | undefined) => {
    const dl = loadDeadLetter(id);
    if (!dl) throw deadLetterNotFound(id);
    if (dl.state === "replayed") throw deadLetterStateConflict(id, dl.state, "replay");
    const now = Date.now();
    const inInbox = dl.in_inbox === 1;
    if (inInbox) {
      checkReplacement({ id, site: dl.site, eventId: dl.event_id }, event);
      requeue(dl, event, now);
    }
    sql.closeDeadLetter.run({ id, state: "replayed", note: dl.note, at: now });
    return { requeued: inInbox };
  });

  const discard = db.transaction((id: number, reason: string) => {
    const dl = loadDeadLetter(id);
    if (!dl) throw deadLetterNotFound(id);
    if (dl.state === "replayed") throw deadLetterStateConflict(id, dl.state, "discard");
    sql.closeDeadLetter.run({ id, state: "discarded", note: reason, at: Date.now() });
  });

  function cachedList(key: string, build: () => string): Database.Statement {
    let statement = listStatements.get(key);
    if (!statement) {
      statement = db.prepare(build());
      listStatements.set(key, statement);
    }
    return statement;
  }

  function purgeBatches(statement: Database.Statement, before: number): number {
    let total = 0;
    for (;;) {
      // One short transaction per batch: ingest keeps committing while a large purge runs.
      const { changes } = statement.run({ before, batch: PURGE_BATCH });
      total += changes;
      if (changes < PURGE_BATCH) return total;
    }
  }

  return {
    kind: "sqlite",

    async ingest(items) {
      const results = ingest.immediate(items);
      for (const item of items) {
        knownSites.add(item.kind === "event" ? item.event.site : item.rejection.site);
      }
      return results;
    },

    async lease(leaseOptions) {
      return lease.immediate(leaseOptions);
    },

    async settle(owner, outcomes) {
      settle.immediate(owner, outcomes);
    },

    async listDeadLetters(filter: DeadLetterFilter = {}) {
      const where = whereClause([
        ["site = @site", filter.site],
        ["code = @code", filter.code],
        ["state = @state", filter.state],
        ["id < @beforeId", filter.beforeId],
      ]);
      const statement = cachedList(`dl:${where}`, () => {
        return `SELECT * FROM dead_letters ${where} ORDER BY id DESC LIMIT @limit`;
      });
      const params = { ...definedOnly(filter), limit: filter.limit ?? DEFAULT_LIST_LIMIT };
      return (statement.all(params) as DeadLetterDbRow[]).map(toDeadLetter);
    },

    async getDeadLetter(id) {
      const row = loadDeadLetter(id);
      return row && toDeadLetter(row);
    },

    async markReplayed(id, event) {
      return markReplayed.immediate(id, event);
    },

    async discardDeadLetter(id, reason) {
      discard.immediate(id, reason);
    },

    async listMessages(filter: MessageFilter = {}) {
      const where = whereClause([
        ["site = @site", filter.site],
        ["type = @type", filter.type],
        ["state = @state", filter.state],
        ["order_key = @orderKey", filter.orderKey],
        ["seq < @beforeSeq", filter.beforeSeq],
      ]);
      const statement = cachedList(`msg:${where}`, () => {
        return `SELECT * FROM messages ${where} ORDER BY seq DESC LIMIT @limit`;
      });
      const params = { ...definedOnly(filter), limit: filter.limit ?? DEFAULT_LIST_LIMIT };
      return (statement.all(params) as MessageDbRow[]).map(toMessageRow);
    },

    async stats() {
      const rows = sql.stats.all() as {
        site: string;
        pending: number;
        oldest: number | null;
        dead: number;
      }[];
      return {
        sites: rows.map((r): SiteStats => ({
          site: r.site,
          pending: r.pending,
          deadLetters: r.dead,
          oldestPendingAt: r.oldest,
        })),
      };
    },

    async purge(purgeOptions: PurgeOptions) {
      return {
        events: purgeBatches(sql.purgeMessages, purgeOptions.settledBefore),
        deadLetters: purgeBatches(sql.purgeDeadLetters, purgeOptions.closedDeadLettersBefore),
      };
    },

    async close() {
      if (db.open) db.close();
    },
  };
}

/** `WHERE` for the filter fields that are set (one cached statement per combination). */
function whereClause(conditions: [string, unknown][]): string {
  const set = conditions.filter(([, value]) => value !== undefined).map(([condition]) => condition);
  return set.length === 0 ? "" : `WHERE ${set.join(" AND ")}`;
}

function definedOnly(filter: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filter).filter(([key, value]) => value !== undefined && key !== "limit"),
  );
}

function prepareStatements(db: Database.Database) {
  return {
    addSite: db.prepare(`INSERT INTO sites (site) VALUES (?) ON CONFLICT DO NOTHING`),
    insertMessage: db.prepare(
      `INSERT INTO messages (site, event_id, type, order_key, payload, source, origin, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site, event_id) DO NOTHING
       RETURNING seq`,
    ),
    countDuplicate: db.prepare(
      `UPDATE messages SET duplicates = duplicates + 1 WHERE site = ? AND event_id = ?`,
    ),
    upsertRejection: db.prepare(
      `INSERT INTO dead_letters (site, event_id, code, message, payload, payload_encoding,
         payload_size, source, origin, fingerprint, created_at, updated_at)
       VALUES (@site, @eventId, @code, @message, @payload, @encoding, @size, @source, @origin,
         @fingerprint, @at, @at)
       ON CONFLICT (fingerprint) DO UPDATE SET
         repeats = repeats + 1, updated_at = max(updated_at, excluded.updated_at)
       RETURNING id, repeats`,
    ),
    lease: db.prepare(LEASE_SQL),
    settleDone: db.prepare(
      `UPDATE messages SET state = @state, ref = @ref, settled_at = @at, lease_until = NULL
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner`,
    ),
    settleRetry: db.prepare(
      `UPDATE messages SET state = 'pending', next_attempt_at = @retryAt, lease_owner = NULL,
         lease_until = NULL, last_code = @code, last_message = @message
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner`,
    ),
    settleDead: db.prepare(
      `UPDATE messages SET state = 'dead', settled_at = @at, lease_until = NULL,
         last_code = @code, last_message = @message
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner
       RETURNING site, event_id, payload, source, origin`,
    ),
    upsertInboxDeadLetter: db.prepare(
      `INSERT INTO dead_letters (site, event_id, code, message, payload, payload_encoding,
         payload_size, source, origin, fingerprint, in_inbox, created_at, updated_at)
       VALUES (@site, @eventId, @code, @message, @payload, 'utf8', @size, @source, @origin,
         @fingerprint, 1, @at, @at)
       ON CONFLICT (fingerprint) DO UPDATE SET
         state = 'open', code = excluded.code, message = excluded.message,
         payload = excluded.payload, payload_size = excluded.payload_size,
         repeats = repeats + 1, updated_at = excluded.updated_at`,
    ),
    getDeadLetter: db.prepare(`SELECT * FROM dead_letters WHERE id = ?`),
    messageState: db.prepare(`SELECT state FROM messages WHERE site = ? AND event_id = ?`),
    requeue: db.prepare(
      `UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = 0,
         lease_owner = NULL, lease_until = NULL, settled_at = NULL,
         payload = coalesce(@payload, payload), type = coalesce(@type, type),
         order_key = coalesce(@orderKey, order_key)
       WHERE site = @site AND event_id = @eventId`,
    ),
    closeDeadLetter: db.prepare(
      `UPDATE dead_letters SET state = @state, note = @note, updated_at = @at WHERE id = @id`,
    ),
    stats: db.prepare(
      `SELECT s.site, coalesce(p.pending, 0) AS pending, p.oldest, coalesce(d.dead, 0) AS dead
       FROM sites s
       LEFT JOIN (
         -- without the hint SQLite walks the whole (site, event_id) index to group by site
         SELECT site, count(*) AS pending, min(received_at) AS oldest
         FROM messages INDEXED BY messages_unsettled
         WHERE state IN ('pending', 'leased') GROUP BY site
       ) p USING (site)
       LEFT JOIN (
         SELECT site, count(*) AS dead FROM dead_letters WHERE state = 'open' GROUP BY site
       ) d USING (site)
       ORDER BY s.site`,
    ),
    purgeMessages: db.prepare(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages m
         WHERE m.state IN ('applied', 'duplicate', 'dead') AND m.received_at < @before
           -- a dead event whose dead letter is still open stays replayable
           AND NOT (m.state = 'dead' AND EXISTS (
             SELECT 1 FROM dead_letters d
             WHERE d.in_inbox = 1 AND d.site = m.site AND d.event_id = m.event_id
               AND d.state = 'open'))
         ORDER BY seq LIMIT @batch)`,
    ),
    purgeDeadLetters: db.prepare(
      `DELETE FROM dead_letters WHERE id IN (
         SELECT id FROM dead_letters
         WHERE state IN ('replayed', 'discarded') AND updated_at < @before
         ORDER BY id LIMIT @batch)`,
    ),
  };
}

/**
 * Leases the oldest ready rows whose key has no earlier row that is waiting (a retry not yet due,
 * a live lease): `blockers` holds the first such row per (site, key), and a candidate must come
 * before it. Taking candidates in seq order up to the limit then hands out, for every key, a
 * contiguous prefix of its unsettled rows. A ready row's key cannot be blocked by a row of another
 * site: `orderKeyOf` puts the site in every key, and keeping the scope explicit lets a `sites`
 * filter skip other sites without letting them block.
 */
const LEASE_SQL = `
  UPDATE messages
  SET state = 'leased', attempts = attempts + 1, lease_owner = @owner,
      lease_until = @until, next_attempt_at = @until
  WHERE seq IN (
    WITH blockers AS MATERIALIZED (
      SELECT site, order_key, min(seq) AS seq FROM messages
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0 AND next_attempt_at > @now
      GROUP BY site, order_key
    )
    SELECT m.seq FROM messages m
    WHERE m.state IN ('pending', 'leased') AND m.next_attempt_at <= @now
      AND (@sites IS NULL OR m.site IN (SELECT value FROM json_each(@sites)))
      AND NOT EXISTS (
        SELECT 1 FROM blockers b
        WHERE b.site = m.site AND b.order_key = m.order_key AND b.seq < m.seq)
    ORDER BY m.seq
    LIMIT @limit)
  RETURNING *`;
