import pg from "pg";
import { laneOf } from "../../canonical/lanes.js";
import { orderKeyOf, type CanonicalEvent } from "../../canonical/types.js";
import {
  DEFAULT_LIST_LIMIT,
  PURGE_BATCH,
  checkReplacement,
  criticalLimit,
  deadLetterNotFound,
  deadLetterOrder,
  deadLetterStateConflict,
  eventKey,
  lastOutcomePerSeq,
  ms,
  toDeadLetter,
  toMessageRow,
  toOutboxRow,
  toSiteStats,
  type DeadLetterDbRow,
  type HeldStatsDbRow,
  type LaneStatsDbRow,
  type MessageDbRow,
} from "../common.js";
import { checkStateWrites } from "../state.js";
import type {
  DeadLetterFilter,
  Eviction,
  IngestItem,
  IngestOptions,
  IngestResult,
  MessageFilter,
  Store,
} from "../types.js";
import { planIngest, type IngestPlan } from "./ingest-plan.js";
import { migrate, quoteSchema } from "./schema.js";
import { createSql } from "./sql.js";
import { createPostgresState } from "./state.js";
import { pgPayload, pgText } from "./text.js";

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` */
  connectionString: string;
  /** Schema holding the store's tables; created on open. @default "plant_bridge" */
  schema?: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
  /**
   * Called when an idle pooled connection fails (server restart, network); the pool drops it and
   * opens a new one on demand. @default ignore
   */
  onIdleError?: (err: Error) => void;
}

/** SQLSTATEs after which the whole transaction can simply run again. */
const RETRYABLE_SQLSTATES = new Set(["40001", "40P01"]);
const TRANSACTION_ATTEMPTS = 3;

/**
 * The shared store: several sidecars use one database, and each method is one statement or one
 * transaction, so no process keeps state the others depend on. Epoch-millisecond columns are
 * `bigint`, read back as numbers (safe up to year 287396).
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? "plant_bridge";
  const quoted = quoteSchema(schema);
  const sql = createSql(quoted);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    application_name: "plant-bridge",
    types: {
      getTypeParser: (oid, format) =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format),
    },
  });
  pool.on("error", options.onIdleError ?? (() => undefined));
  // The pool listens for errors only on idle connections. A connection checked out for a
  // transaction that the server drops between two queries (PostgreSQL stopped or restarted)
  // emits `error` with no listener, which ended the process; now that transaction's next query
  // fails, the transaction fails as a store failure, and the connection is discarded.
  pool.on("connect", (client) => client.on("error", () => undefined));
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const knownSites = new Set<string>();
  const state = createPostgresState(pool, quoted);

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work(client);
        await client.query("COMMIT");
        client.release();
        return result;
      } catch (err) {
        const broken = await client.query("ROLLBACK").then(
          () => false,
          () => true,
        );
        client.release(broken);
        const code = (err as { code?: unknown }).code;
        const retryable = typeof code === "string" && RETRYABLE_SQLSTATES.has(code);
        if (!retryable || attempt >= TRANSACTION_ATTEMPTS) throw err;
      }
    }
  }

  async function writeIngest(client: pg.PoolClient, plan: IngestPlan): Promise<IngestResult[]> {
    const results: IngestResult[] = [];
    const newSites = plan.sites.filter((site) => !knownSites.has(site));
    if (newSites.length > 0) await client.query(sql.addSites, [newSites]);

    const seqOf = new Map<string, number>();
    if (plan.events.length > 0) {
      const e = plan.events.map(({ item }) => item);
      const inserted = await client.query<{ seq: number; site: string; event_id: string }>({
        name: "plant-bridge.insert-messages",
        text: sql.insertMessages,
        values: [
          e.map((i) => pgText(i.event.site)),
          e.map((i) => pgText(i.event.id)),
          e.map((i) => pgText(i.event.type)),
          e.map((i) => pgText(i.orderKey)),
          e.map((i) => JSON.stringify(i.event)),
          e.map((i) => pgText(i.source)),
          e.map((i) => pgText(i.origin)),
          e.map((i) => ms(i.receivedAt)),
          e.map((i) => laneOf(i.event.type)),
        ],
      });
      for (const row of inserted.rows) seqOf.set(eventKey(row.site, row.event_id), row.seq);
    }

    const duplicates = new Map<string, { site: string; eventId: string; n: number }>();
    const countDuplicate = (key: string) => {
      const [site, eventId] = JSON.parse(key) as [string, string];
      const entry = duplicates.get(key) ?? { site, eventId, n: 0 };
      entry.n += 1;
      duplicates.set(key, entry);
    };
    for (const { index, key } of plan.events) {
      const seq = seqOf.get(key);
      if (seq === undefined) countDuplicate(key);
      results[index] = seq === undefined ? { status: "duplicate" } : { status: "accepted", seq };
    }
    for (const { index, key } of plan.repeatedEvents) {
      countDuplicate(key);
      results[index] = { status: "duplicate" };
    }
    if (duplicates.size > 0) {
      const d = [...duplicates.values()];
      await client.query({
        name: "plant-bridge.count-duplicates",
        text: sql.countDuplicates,
        values: [d.map((x) => x.site), d.map((x) => x.eventId), d.map((x) => x.n)],
      });
    }

    if (plan.rejections.length > 0) await writeRejections(client, plan, results);
    return results;
  }

  async function writeRejections(
    client: pg.PoolClient,
    plan: IngestPlan,
    results: IngestResult[],
  ): Promise<void> {
    const g = plan.rejections;
    const r = g.map(({ item }) => item.rejection);
    const payloads = r.map((x) => pgPayload(x.payload, x.payloadEncoding));
    const { rows } = await client.query<{ id: number; fingerprint: string; inserted: boolean }>({
      name: "plant-bridge.upsert-rejections",
      text: sql.upsertRejections,
      values: [
        r.map((x) => pgText(x.site)),
        r.map((x) => pgText(x.eventId)),
        r.map((x) => pgText(x.code)),
        r.map((x) => pgText(x.message)),
        payloads.map((x) => x.payload),
        payloads.map((x) => x.encoding),
        r.map((x) => x.payloadSize),
        r.map((x) => pgText(x.source)),
        r.map((x) => pgText(x.origin)),
        r.map((x) => pgText(x.fingerprint)),
        g.map((x) => x.indexes.length - 1),
        g.map((x) => ms(x.item.receivedAt)),
        g.map((x) => ms(x.lastReceivedAt)),
      ],
    });
    const byFingerprint = new Map(rows.map((row) => [row.fingerprint, row]));
    for (const { indexes, item } of g) {
      const row = byFingerprint.get(pgText(item.rejection.fingerprint))!;
      indexes.forEach((index, nth) => {
        results[index] = {
          status: "dead_letter",
          deadLetterId: row.id,
          repeated: nth > 0 || !row.inserted,
        };
      });
    }
  }

  async function requeue(
    client: pg.PoolClient,
    dl: DeadLetterDbRow,
    event: CanonicalEvent | undefined,
    now: number,
  ): Promise<void> {
    const eventId = dl.event_id ?? "";
    const current = await client.query<{ state: string }>(sql.messageStateForUpdate, [
      dl.site,
      eventId,
    ]);
    const state = current.rows[0]?.state;
    if (state !== undefined && state !== "dead") {
      throw deadLetterStateConflict(dl.id, `open while its event is ${state}`, "replay");
    }
    if (state !== undefined) {
      await client.query(sql.requeue, [
        dl.site,
        eventId,
        event ? JSON.stringify(event) : null,
        event?.type ?? null,
        event ? pgText(orderKeyOf(event)) : null,
        event ? laneOf(event.type) : null,
      ]);
      return;
    }
    // The event row was purged meanwhile: the dead letter still holds the whole event.
    const replacement = event ?? (JSON.parse(dl.payload) as CanonicalEvent);
    await client.query(sql.insertMessage, [
      dl.site,
      eventId,
      replacement.type,
      pgText(orderKeyOf(replacement)),
      JSON.stringify(replacement),
      dl.source,
      dl.origin,
      now,
      laneOf(replacement.type),
    ]);
  }

  async function closeDeadLetter(
    id: number,
    state: "replayed" | "discarded",
    note: (dl: DeadLetterDbRow) => string | null,
    before: (client: pg.PoolClient, dl: DeadLetterDbRow, now: number) => Promise<void>,
  ): Promise<DeadLetterDbRow> {
    return transaction(async (client) => {
      const found = await client.query<DeadLetterDbRow>(sql.deadLetterForUpdate, [id]);
      const dl = found.rows[0];
      if (!dl) throw deadLetterNotFound(id);
      const action = state === "replayed" ? "replay" : "discard";
      if (dl.state === "replayed") throw deadLetterStateConflict(id, dl.state, action);
      const now = Date.now();
      await before(client, dl, now);
      await client.query(sql.closeDeadLetter, [id, state, note(dl), now]);
      return dl;
    });
  }

  async function commitIngest(
    items: IngestItem[],
    ingestOptions: IngestOptions = {},
  ): Promise<IngestResult[]> {
    const writes = ingestOptions.state ?? [];
    checkStateWrites(writes);
    if (items.length === 0 && writes.length === 0) return [];
    const plan = planIngest(items, pgText);
    const results = await transaction(async (client) => {
      // State first: a failed compare-and-set throws before any item is written.
      await state.write(client, writes, Date.now());
      return writeIngest(client, plan);
    });
    for (const site of plan.sites) knownSites.add(site);
    return results;
  }

  return {
    kind: "postgres",

    ingest: commitIngest,

    getState: (key) => state.read(key),

    listState: (prefix) => state.list(prefix),

    async setState(writes) {
      await commitIngest([], { state: writes });
    },

    async lease(o) {
      const now = ms(o.now ?? Date.now());
      const limit = Math.max(0, Math.trunc(o.limit));
      const critical = criticalLimit(o);
      const params = (n: number) => [o.owner, now, ms(now + o.leaseMs), n, o.sites ?? null];
      const bySeq = (a: MessageDbRow, b: MessageDbRow) => a.seq - b.seq;
      if (critical === 0) {
        const { rows } = await pool.query<MessageDbRow>(sql.lease, params(limit));
        return rows.sort(bySeq).map(toOutboxRow);
      }
      // Both passes in one transaction: the second sees the first one's leases as blockers.
      const [first, rest] = await transaction(async (client) => {
        const a = await client.query<MessageDbRow>(sql.leaseCritical, params(critical));
        const b = await client.query<MessageDbRow>(sql.lease, params(limit - a.rows.length));
        return [a.rows, b.rows];
      });
      return [...first.sort(bySeq), ...rest.sort(bySeq)].map(toOutboxRow);
    },

    async leaseHolders(now = Date.now()) {
      const { rows } = await pool.query<{ lease_owner: string }>(sql.leaseHolders, [ms(now)]);
      return rows.map((r) => r.lease_owner);
    },

    async shiftWaits(byMs, now = Date.now()) {
      const { rowCount } = await pool.query(sql.shiftWaits, [ms(byMs), ms(now)]);
      return rowCount ?? 0;
    },

    async expedite(o) {
      const { rowCount } = await pool.query(sql.expedite, [
        ms(o.now ?? Date.now()),
        o.owners ?? [],
        o.codes ?? [],
        o.sites ?? null,
      ]);
      return rowCount ?? 0;
    },

    async settle(owner, outcomes) {
      if (outcomes.length === 0) return;
      const now = Date.now();
      const o = lastOutcomePerSeq(outcomes);
      await pool.query({
        name: "plant-bridge.settle",
        text: sql.settle,
        values: [
          owner,
          o.map((x) => x.seq),
          o.map((x) => x.status),
          o.map((x) => ("ref" in x ? pgText(x.ref) : null)),
          o.map((x) => ("code" in x ? pgText(x.code) : null)),
          o.map((x) => ("message" in x ? pgText(x.message) : null)),
          o.map((x) => (x.status === "retry" ? null : ms(x.at ?? now))),
          o.map((x) => (x.status === "retry" ? ms(x.retryAt) : null)),
        ],
      });
    },

    async listDeadLetters(filter: DeadLetterFilter = {}) {
      const { where, values } = whereClause([
        ["site =", pgText(filter.site)],
        ["code =", pgText(filter.code)],
        ["state =", filter.state],
        ["id <", filter.beforeId],
        ["id >", filter.afterId],
        ["in_inbox =", filter.inInbox],
        ["fingerprint =", pgText(filter.fingerprint)],
      ]);
      values.push(filter.limit ?? DEFAULT_LIST_LIMIT);
      const { rows } = await pool.query<DeadLetterDbRow>(
        `SELECT * FROM ${quoted}.dead_letters ${where}
         ORDER BY id ${deadLetterOrder(filter)} LIMIT $${values.length}`,
        values,
      );
      return rows.map(toDeadLetter);
    },

    async getDeadLetter(id) {
      const { rows } = await pool.query<DeadLetterDbRow>(sql.getDeadLetter, [id]);
      return rows[0] && toDeadLetter(rows[0]);
    },

    async markReplayed(id, event) {
      let requeued = false;
      await closeDeadLetter(
        id,
        "replayed",
        (dl) => dl.note,
        async (client, dl, now) => {
          requeued = dl.in_inbox === true;
          if (!requeued) return;
          checkReplacement({ id, site: dl.site, eventId: dl.event_id }, event);
          await requeue(client, dl, event, now);
        },
      );
      return { requeued };
    },

    async discardDeadLetter(id, reason) {
      await closeDeadLetter(
        id,
        "discarded",
        () => pgText(reason),
        async () => undefined,
      );
    },

    async listMessages(filter: MessageFilter = {}) {
      const { where, values } = whereClause([
        ["site =", pgText(filter.site)],
        ["type =", filter.type],
        ["state =", filter.state],
        ["order_key =", pgText(filter.orderKey)],
        ["seq <", filter.beforeSeq],
      ]);
      values.push(filter.limit ?? DEFAULT_LIST_LIMIT);
      const { rows } = await pool.query<MessageDbRow>(
        `SELECT * FROM ${quoted}.messages ${where}
         ORDER BY seq DESC LIMIT $${values.length}`,
        values,
      );
      return rows.map(toMessageRow);
    },

    async stats() {
      const [sites, lanes, dead, held] = await Promise.all([
        pool.query<{ site: string }>(sql.sites),
        pool.query<LaneStatsDbRow>(sql.laneStats),
        pool.query<{ site: string; dead: number }>(sql.deadStats),
        pool.query<HeldStatsDbRow>(sql.heldStats),
      ]);
      return {
        sites: toSiteStats(
          sites.rows.map((r) => r.site),
          lanes.rows,
          new Map(dead.rows.map((r) => [r.site, r.dead])),
          held.rows,
        ),
      };
    },

    async purge(purgeOptions) {
      // One short statement per batch, so a large purge never holds locks for long.
      const purgeAll = async (text: string, before: number) => {
        let total = 0;
        for (let last = 0; ;) {
          const { rows } = await pool.query<{ deleted: number; scanned: number; last: number }>(
            text,
            [ms(before), PURGE_BATCH, last],
          );
          const batch = rows[0]!;
          total += batch.deleted;
          if (batch.scanned < PURGE_BATCH) return total;
          last = batch.last;
        }
      };
      return {
        events: await purgeAll(sql.purgeMessages, purgeOptions.settledBefore),
        deadLetters: await purgeAll(sql.purgeDeadLetters, purgeOptions.closedDeadLettersBefore),
      };
    },

    async trimDeadLetters(keep, now = Date.now()) {
      const { rows } = await pool.query<{ site: string; code: string; n: number }>(sql.overBudget, [
        keep,
      ]);
      const evictions: Eviction[] = [];
      for (const { site, code, n } of rows) {
        const { rows: done } = await pool.query<{ evicted: number }>(sql.evictOldest, [
          site,
          code,
          n - keep,
          ms(now),
        ]);
        evictions.push({ site, code, evicted: done[0]!.evicted, at: ms(now) });
      }
      return evictions;
    },

    async listEvictions() {
      return (await pool.query<Eviction>(sql.listEvictions)).rows;
    },

    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}

/** `WHERE` for the filter fields that are set, with their values as parameters. */
function whereClause(conditions: [string, unknown][]): { where: string; values: unknown[] } {
  const values: unknown[] = [];
  const parts: string[] = [];
  for (const [condition, value] of conditions) {
    if (value === undefined || value === null) continue;
    values.push(value);
    parts.push(`${condition} $${values.length}`);
  }
  return { where: parts.length === 0 ? "" : `WHERE ${parts.join(" AND ")}`, values };
}
