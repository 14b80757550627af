import Database from "better-sqlite3";
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
  inboxFingerprint,
  lastOutcomePerSeq,
  ms,
  toDeadLetter,
  toMessageRow,
  toOutboxRow,
  toSiteStats,
  type DeadLetterDbRow,
  type EventItem,
  type HeldStatsDbRow,
  type LaneStatsDbRow,
  type MessageDbRow,
  type RejectItem,
} from "../common.js";
import type {
  DeadLetterFilter,
  Eviction,
  IngestItem,
  IngestOptions,
  IngestResult,
  LeaseOptions,
  MessageFilter,
  Outcome,
  PurgeOptions,
  Store,
} from "../types.js";
import { checkStateWrites } from "../state.js";
import { migrate } from "./schema.js";
import { createSqliteState } from "./state.js";
import { prepareStatements } from "./statements.js";

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
  const state = createSqliteState(db);
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
      ms(item.receivedAt),
      laneOf(event.type),
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
      at: ms(receivedAt),
    }) as { id: number; repeats: number };
    return { status: "dead_letter", deadLetterId: row.id, repeated: row.repeats > 0 };
  }

  const ingest = db.transaction((items: IngestItem[], options: IngestOptions) => {
    // State first: a failed compare-and-set throws before any item is written.
    state.write(options.state ?? [], Date.now());
    return items.map((item) => (item.kind === "event" ? ingestEvent(item) : ingestRejection(item)));
  });

  const lease = db.transaction((o: LeaseOptions) => {
    const now = ms(o.now ?? Date.now());
    const until = ms(now + o.leaseMs);
    const limit = Math.max(0, Math.trunc(o.limit));
    const params = {
      owner: o.owner,
      now,
      until,
      sites: o.sites === undefined ? null : JSON.stringify(o.sites),
    };
    const critical = criticalLimit(o);
    const first =
      critical > 0 ? (sql.leaseCritical.all({ ...params, limit: critical }) as MessageDbRow[]) : [];
    const rest = sql.lease.all({ ...params, limit: limit - first.length }) as MessageDbRow[];
    const bySeq = (a: MessageDbRow, b: MessageDbRow) => a.seq - b.seq;
    return [...first.sort(bySeq), ...rest.sort(bySeq)].map(toOutboxRow);
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
          at: ms(o.at ?? now),
        });
        return;
      case "retry":
        sql.settleRetry.run({
          owner,
          seq: o.seq,
          retryAt: ms(o.retryAt),
          code: o.code,
          message: o.message,
        });
        return;
      case "rejected": {
        const at = ms(o.at ?? now);
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
        lane: event ? laneOf(event.type) : null,
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
      laneOf(replacement.type),
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

  const trimOne = db.transaction(
    (e: { site: string; code: string; n: number; at: number }): Eviction => {
      const { changes } = sql.evictOldest.run(e);
      sql.countEviction.run({ ...e, n: changes });
      return { site: e.site, code: e.code, evicted: changes, at: e.at };
    },
  );

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

  async function purgeBatches(statement: Database.Statement, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const { changes } = statement.run({ before: ms(before), batch: PURGE_BATCH });
      total += changes;
      if (changes < PURGE_BATCH) return total;
      // One short transaction per batch, and the event loop in between: ingest keeps
      // committing (and MQTT acknowledging) while a large purge runs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function commitIngest(
    items: IngestItem[],
    ingestOptions: IngestOptions = {},
  ): Promise<IngestResult[]> {
    checkStateWrites(ingestOptions.state ?? []);
    const results = ingest.immediate(items, ingestOptions);
    for (const item of items) {
      knownSites.add(item.kind === "event" ? item.event.site : item.rejection.site);
    }
    return results;
  }

  return {
    kind: "sqlite",

    ingest: commitIngest,

    async getState(key) {
      return state.read(key);
    },

    async listState(prefix) {
      return state.list(prefix);
    },

    async setState(writes) {
      await commitIngest([], { state: writes });
    },

    async lease(leaseOptions) {
      return lease.immediate(leaseOptions);
    },

    async settle(owner, outcomes) {
      settle.immediate(owner, outcomes);
    },

    async leaseHolders(now = Date.now()) {
      return (sql.leaseHolders.all({ now: ms(now) }) as Array<{ lease_owner: string }>).map(
        (r) => r.lease_owner,
      );
    },

    async shiftWaits(byMs, now = Date.now()) {
      return sql.shiftWaits.run({ by: ms(byMs), now: ms(now) }).changes;
    },

    async expedite(o) {
      return sql.expedite.run({
        now: ms(o.now ?? Date.now()),
        owners: JSON.stringify(o.owners ?? []),
        codes: JSON.stringify(o.codes ?? []),
        sites: o.sites === undefined ? null : JSON.stringify(o.sites),
      }).changes;
    },

    async listDeadLetters(filter: DeadLetterFilter = {}) {
      const where = whereClause([
        ["site = @site", filter.site],
        ["code = @code", filter.code],
        ["state = @state", filter.state],
        ["id < @beforeId", filter.beforeId],
        ["id > @afterId", filter.afterId],
        ["in_inbox = @inInbox", filter.inInbox],
        ["fingerprint = @fingerprint", filter.fingerprint],
      ]);
      const order = deadLetterOrder(filter);
      const statement = cachedList(`dl:${where}:${order}`, () => {
        return `SELECT * FROM dead_letters ${where} ORDER BY id ${order} LIMIT @limit`;
      });
      const params = {
        ...definedOnly(filter),
        // SQLite has no booleans: in_inbox is 0 / 1
        ...(filter.inInbox === undefined ? {} : { inInbox: filter.inInbox ? 1 : 0 }),
        limit: filter.limit ?? DEFAULT_LIST_LIMIT,
      };
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
      const sites = (sql.sites.all() as { site: string }[]).map((r) => r.site);
      const dead = new Map(
        (sql.deadStats.all() as { site: string; dead: number }[]).map((r) => [r.site, r.dead]),
      );
      const lanes = sql.laneStats.all() as LaneStatsDbRow[];
      const held = sql.heldStats.all() as HeldStatsDbRow[];
      return { sites: toSiteStats(sites, lanes, dead, held) };
    },

    async purge(purgeOptions: PurgeOptions) {
      return {
        events: await purgeBatches(sql.purgeMessages, purgeOptions.settledBefore),
        deadLetters: await purgeBatches(sql.purgeDeadLetters, purgeOptions.closedDeadLettersBefore),
      };
    },

    async trimDeadLetters(keep, now = Date.now()) {
      const over = sql.overBudget.all({ keep }) as Array<{ site: string; code: string; n: number }>;
      return over.map(({ site, code, n }) => trimOne({ site, code, n: n - keep, at: ms(now) }));
    },

    async listEvictions() {
      return sql.listEvictions.all() as Eviction[];
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
