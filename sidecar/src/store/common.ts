/**
 * What both stores share: the row shapes their SQL returns (same column names in SQLite and
 * PostgreSQL), the mapping to the `Store` types, and the few rules that must not differ between
 * them (dead-letter fingerprints of rejected events, list defaults, replay checks).
 */
import { createHash } from "node:crypto";
import { LANES, type Lane } from "../canonical/lanes.js";
import type { Source } from "../canonical/parse.js";
import type { CanonicalEvent } from "../canonical/types.js";
import { PermanentError } from "../errors.js";
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterState,
  IngestItem,
  LaneStats,
  LeaseOptions,
  MessageRow,
  Outcome,
  OutboxRow,
  OutboxState,
  SiteStats,
} from "./types.js";

/** One row of the stats query: a site's unsettled events of one lane (null: none at all). */
export interface LaneStatsDbRow {
  site: string;
  lane: string | null;
  pending: number | string;
  oldest: number | string | null;
}

/** One row of the held-events query: a site's events a posting window keeps waiting. */
export interface HeldStatsDbRow {
  site: string;
  held: number | string;
  until: number | string | null;
}

/**
 * The site stats from per-(site, lane) counts: every lane listed, the site's totals summed.
 * `dead` maps each site to its open dead letters; `sites` lists every site ever seen.
 */
export function toSiteStats(
  sites: string[],
  lanes: LaneStatsDbRow[],
  dead: Map<string, number>,
  held: HeldStatsDbRow[],
): SiteStats[] {
  return sites.map((site) => {
    const mine = lanes.filter((r) => r.site === site);
    const waiting = held.find((r) => r.site === site);
    const perLane = LANES.map((lane): LaneStats => {
      const row = mine.find((r) => r.lane === lane);
      return {
        lane,
        pending: Number(row?.pending ?? 0),
        oldestPendingAt: row?.oldest == null ? null : Number(row.oldest),
      };
    });
    const oldest = perLane.map((l) => l.oldestPendingAt).filter((t): t is number => t !== null);
    return {
      site,
      pending: perLane.reduce((n, l) => n + l.pending, 0),
      deadLetters: dead.get(site) ?? 0,
      oldestPendingAt: oldest.length ? Math.min(...oldest) : null,
      lanes: perLane,
      held: Number(waiting?.held ?? 0),
      heldUntil: waiting?.until == null ? null : Number(waiting.until),
    };
  });
}

/**
 * Of a lease of `limit`, how many the critical lane may take first (see `Store.lease`); 0 with
 * lanes off.
 */
export function criticalLimit(o: LeaseOptions): number {
  const limit = Math.max(0, Math.trunc(o.limit));
  if (o.lanes === false) return 0;
  const share = Math.min(1, Math.max(0, o.bulkShare ?? 0.1));
  return limit - Math.floor(limit * share);
}

/** Rows a list returns when the filter has no `limit`. */
export const DEFAULT_LIST_LIMIT = 100;

/** Rows deleted per purge transaction, so a big purge never holds the write lock for long. */
export const PURGE_BATCH = 5000;

/**
 * An epoch-millisecond value as the integer columns store it: a fractional clock value (say
 * from `performance.timeOrigin + performance.now()`) must not fail a whole ingest.
 */
export function ms(value: number): number {
  return Math.floor(value);
}

/** One received event and its outbox state (inbox and outbox share one table). */
export interface MessageDbRow {
  seq: number;
  site: string;
  event_id: string;
  type: string;
  order_key: string;
  lane: string;
  payload: string;
  source: string;
  origin: string;
  received_at: number;
  duplicates: number;
  state: string;
  attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  next_attempt_at: number;
  last_code: string | null;
  last_message: string | null;
  ref: string | null;
  settled_at: number | null;
}

export interface DeadLetterDbRow {
  id: number;
  site: string;
  event_id: string | null;
  code: string;
  message: string;
  payload: string;
  payload_encoding: string;
  payload_size: number;
  source: string;
  origin: string;
  fingerprint: string;
  repeats: number;
  state: string;
  /** SQLite answers 0/1, PostgreSQL a boolean. */
  in_inbox: boolean | number;
  note: string | null;
  created_at: number;
  updated_at: number;
}

export function toOutboxRow(row: MessageDbRow): OutboxRow {
  return {
    seq: row.seq,
    site: row.site,
    eventId: row.event_id,
    type: row.type as CanonicalEvent["type"],
    orderKey: row.order_key,
    lane: row.lane as Lane,
    event: JSON.parse(row.payload) as CanonicalEvent,
    source: row.source as Source,
    origin: row.origin,
    receivedAt: row.received_at,
    attempts: row.attempts,
    leaseOwner: row.lease_owner ?? "",
    leaseUntil: row.lease_until ?? 0,
  };
}

export function toMessageRow(row: MessageDbRow): MessageRow {
  return {
    seq: row.seq,
    site: row.site,
    eventId: row.event_id,
    type: row.type as CanonicalEvent["type"],
    state: row.state as OutboxState,
    attempts: row.attempts,
    source: row.source as Source,
    origin: row.origin,
    receivedAt: row.received_at,
    settledAt: row.settled_at,
    duplicates: row.duplicates,
    ref: row.ref,
    lastCode: row.last_code,
    lastMessage: row.last_message,
    event: JSON.parse(row.payload) as CanonicalEvent,
  };
}

export function toDeadLetter(row: DeadLetterDbRow): DeadLetter {
  return {
    id: row.id,
    site: row.site,
    eventId: row.event_id,
    code: row.code,
    message: row.message,
    payload: row.payload,
    payloadEncoding: row.payload_encoding as DeadLetter["payloadEncoding"],
    payloadSize: row.payload_size,
    source: row.source as Source,
    origin: row.origin,
    fingerprint: row.fingerprint,
    repeats: row.repeats,
    state: row.state as DeadLetterState,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    inInbox: row.in_inbox === true || row.in_inbox === 1,
    note: row.note,
  };
}

/**
 * Fingerprint of the dead letter of an event Odoo rejected: one dead letter per inbox event, so
 * a replayed event that is rejected again reopens it instead of piling up copies. PostgreSQL
 * computes the same value in SQL (`sha256('inbox' || 0x00 || site || 0x00 || event_id)`).
 */
export function inboxFingerprint(site: string, eventId: string): string {
  return createHash("sha256").update(`inbox\0${site}\0${eventId}`).digest("hex");
}

/** The identity of an inbox row as a map key (JSON, so no separator can be forged). */
export function eventKey(site: string, eventId: string): string {
  return JSON.stringify([site, eventId]);
}

/** Several outcomes for one seq in one call: the last one wins. */
export function lastOutcomePerSeq(outcomes: Outcome[]): Outcome[] {
  return [...new Map(outcomes.map((o) => [o.seq, o])).values()];
}

export type EventItem = Extract<IngestItem, { kind: "event" }>;
export type RejectItem = Extract<IngestItem, { kind: "reject" }>;

/** A replacement event must be the same event (same site and id) as the one it replaces. */
export function checkReplacement(
  deadLetter: { id: number; site: string; eventId: string | null },
  event: CanonicalEvent | undefined,
): void {
  if (event === undefined) return;
  if (event.site !== deadLetter.site || event.id !== deadLetter.eventId) {
    throw new PermanentError(
      "replay_mismatch",
      `dead letter ${deadLetter.id} holds event ${JSON.stringify(deadLetter.eventId)} of site ` +
        `${JSON.stringify(deadLetter.site)}; the replacement is ${JSON.stringify(event.id)} of ` +
        `site ${JSON.stringify(event.site)}`,
    );
  }
}

/** Dead letters come newest first, except for a forward cursor (`afterId`): oldest first. */
export function deadLetterOrder(filter: DeadLetterFilter): "ASC" | "DESC" {
  return filter.afterId === undefined ? "DESC" : "ASC";
}

export function deadLetterNotFound(id: number): PermanentError {
  return new PermanentError("not_found", `dead letter ${id} does not exist`);
}

export function deadLetterStateConflict(id: number, state: string, action: string): PermanentError {
  return new PermanentError("state_conflict", `dead letter ${id} is ${state}: cannot ${action}`);
}
