import type { Rejection, Source } from "../canonical/parse.js";
import type { Lane } from "../canonical/lanes.js";
import type { CanonicalEvent } from "../canonical/types.js";

/**
 * The durable store: inbox (what was received, unique by site + id), outbox (what must still
 * reach Odoo, with leases and attempts), dead letters (what could not be used, with its code and
 * original payload, replayable). Every method resolves only once its effect is committed (and
 * synced, for SQLite). Two implementations pass one contract suite: SQLite (embedded default)
 * and PostgreSQL (several sidecars sharing one queue).
 */
export interface Store {
  readonly kind: "sqlite" | "postgres";

  /**
   * Commits a group of received items in one transaction. Events new to the inbox get an outbox
   * row; a repeated (site, id) is counted on the original row and answered `duplicate`;
   * rejections become dead letters (a repeated fingerprint is counted, not stored twice).
   * `options.state` commits in the same transaction (also with no items), so a watermark or a
   * counter never runs ahead of, or behind, the rows it covers. A failed compare-and-set
   * (`StateWrite.expect`) throws `state_conflict` (transient) and commits nothing at all.
   */
  ingest(items: IngestItem[], options?: IngestOptions): Promise<IngestResult[]>;

  /** The value of a state key, undefined when it is not set. */
  getState(key: string): Promise<string | undefined>;

  /** Every state entry whose key starts with `prefix` (`""`: all), in key order. */
  listState(prefix: string): Promise<StateEntry[]>;

  /** State writes alone: the same as `ingest([], { state: writes })`. */
  setState(writes: StateWrite[]): Promise<void>;

  /**
   * Leases up to `limit` outbox rows for a posting worker, never handing out an event while an
   * earlier unfinished event of the same business object (order key) exists outside this lease,
   * so events of one MO or work center are never applied out of order. The critical lane goes
   * first, oldest first, with the earlier bulk events of its objects (they must go before it),
   * up to `limit` less the bulk share; the rest of the batch takes the oldest remaining events of
   * any lane. Critical rows come first in the answer, then the others, each part in seq order.
   * Increments each row's attempt count. Expired leases of a crashed worker are taken over.
   */
  lease(options: LeaseOptions): Promise<OutboxRow[]>;

  /** Records Odoo's answers for leased rows (only rows still leased by `owner` are changed). */
  settle(owner: string, outcomes: Outcome[]): Promise<void>;

  /** Owners of the leases still running at `now` (to find the workers that died holding one). */
  leaseHolders(now?: number): Promise<string[]>;

  /**
   * Makes due at `now` the rows that wait for a reason that is gone: leases held by `owners`
   * (workers known to be dead) and retries whose last code is one of `codes` (Odoo unreachable,
   * and reachable again). Each row keeps its place in its key's order and its attempt count.
   * Returns how many rows it made due.
   */
  expedite(options: ExpediteOptions): Promise<number>;

  /**
   * Moves every wait (retry time, lease end) of the unsettled rows by `byMs` after the wall clock
   * was stepped (an NTP correction, a PC that booted with a wrong clock): a wait set before a
   * step back of one hour would otherwise last one hour longer. Never earlier than `now`.
   * Returns how many rows moved.
   */
  shiftWaits(byMs: number, now?: number): Promise<number>;

  /** Dead letters, newest first (oldest first with `afterId`). */
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  getDeadLetter(id: number): Promise<DeadLetter | undefined>;

  /**
   * Marks a dead letter replayed. When it holds an event known to the inbox (rejected by Odoo),
   * the event (optionally replaced by `event`, same site and id) goes back to the outbox as
   * pending with zero attempts, in one transaction; the caller re-runs other dead letters
   * (bad JSON, schema...) through the pipeline itself.
   */
  markReplayed(id: number, event?: CanonicalEvent): Promise<{ requeued: boolean }>;
  discardDeadLetter(id: number, reason: string): Promise<void>;

  /** Trace of received events with their outbox state, newest first (for the API). */
  listMessages(filter?: MessageFilter): Promise<MessageRow[]>;

  stats(now?: number): Promise<StoreStats>;

  /** Deletes settled outbox/inbox rows and closed dead letters older than the cut-offs. */
  purge(options: PurgeOptions): Promise<PurgeResult>;
  /**
   * Bounds the open dead letters: of each (site, code) with more than `keep`, the oldest are
   * deleted and counted (durably, see `listEvictions`), so a flood of distinct bad input cannot
   * fill the disk. Returns what this call evicted.
   */
  trimDeadLetters(keep: number, now?: number): Promise<Eviction[]>;
  /** Every (site, code) that ever lost dead letters to the budget, with the total count. */
  listEvictions(): Promise<Eviction[]>;

  close(): Promise<void>;
}

export type IngestItem =
  | {
      kind: "event";
      event: CanonicalEvent;
      source: Source;
      origin: string;
      /** Business object for ordering (see `orderKeyOf`). */
      orderKey: string;
      /** Epoch milliseconds. */
      receivedAt: number;
    }
  | { kind: "reject"; rejection: Rejection; receivedAt: number };

export interface IngestOptions {
  /**
   * Applied in order before the items, in their transaction. A key written twice ends with the
   * last value, and each `expect` is checked against the value left by the writes before it.
   */
  state?: StateWrite[];
}

/**
 * One durable key/value write: SQL-source watermarks, which dead letters were reported,
 * aggregation counters. Keys are 1 to 200 characters without U+0000; values at most 1 MiB of
 * UTF-8 (`too_large` otherwise), kept exactly (U+0000 included).
 */
export interface StateWrite {
  key: string;
  /** The new value; null deletes the key. */
  value: string | null;
  /**
   * Compare-and-set: when given, the key must currently hold this value (null: must be unset),
   * or the whole call fails with `state_conflict` and commits nothing. Lets several sidecars
   * sharing a PostgreSQL store advance one watermark without both taking the same rows.
   */
  expect?: string | null;
}

export interface StateEntry {
  key: string;
  value: string;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

export type IngestResult =
  | { status: "accepted"; seq: number }
  | { status: "duplicate" }
  | { status: "dead_letter"; deadLetterId: number; repeated: boolean };

export interface LeaseOptions {
  owner: string;
  limit: number;
  /** How long the lease holds before another worker may take the rows over. */
  leaseMs: number;
  /** Epoch ms; tests pass their own clock. @default Date.now() */
  now?: number;
  /** Only rows of these sites. @default all sites */
  sites?: string[];
  /** Lease the critical lane first. false: arrival order only (a baseline). @default true */
  lanes?: boolean;
  /**
   * Part of `limit` the critical lane leaves to the oldest other events, so bulk keeps moving
   * under a steady critical load (rounded down: a batch of fewer than 10 leaves none at 0.1).
   * @default 0.1
   */
  bulkShare?: number;
}

export interface ExpediteOptions {
  now?: number;
  /** Lease owners whose leases end now. */
  owners?: string[];
  /** Retries (pending rows due later) whose last code is one of these become due now. */
  codes?: string[];
  /** Only rows of these sites. @default all */
  sites?: string[];
}

export type OutboxState = "pending" | "leased" | "applied" | "duplicate" | "dead";

export interface OutboxRow {
  seq: number;
  site: string;
  eventId: string;
  type: CanonicalEvent["type"];
  orderKey: string;
  /** The event's own lane (a bulk event leased with its object's critical one stays `bulk`). */
  lane: Lane;
  event: CanonicalEvent;
  source: Source;
  origin: string;
  receivedAt: number;
  attempts: number;
  leaseOwner: string;
  leaseUntil: number;
}

export type Outcome =
  | { seq: number; status: "applied" | "duplicate"; ref?: string; at?: number }
  /** Try again at `retryAt` (Odoo deferred it, or a transient failure); keeps its place in order. */
  | { seq: number; status: "retry"; retryAt: number; code: string; message: string }
  /** Permanent: becomes a dead letter with the event as payload. */
  | { seq: number; status: "rejected"; code: string; message: string; at?: number };

export type DeadLetterState = "open" | "replayed" | "discarded";

export interface DeadLetter {
  id: number;
  site: string;
  eventId: string | null;
  code: string;
  message: string;
  payload: string;
  payloadEncoding: "utf8" | "base64";
  payloadSize: number;
  source: Source;
  origin: string;
  fingerprint: string;
  /** How many times the same input arrived again. */
  repeats: number;
  state: DeadLetterState;
  createdAt: number;
  updatedAt: number;
  /** Whether the event is in the inbox (Odoo rejected it) rather than unusable input. */
  inInbox: boolean;
  note: string | null;
}

export interface DeadLetterFilter {
  site?: string;
  code?: string;
  state?: DeadLetterState;
  limit?: number;
  /** Only ids lower than this (keyset paging, newest first). */
  beforeId?: number;
  /**
   * Only ids greater than this, and then in ascending id order: a forward cursor for a consumer
   * that must see every dead letter once (e.g. reporting them to Odoo).
   */
  afterId?: number;
  /** Only events Odoo rejected (true) or only unusable input (false). */
  inInbox?: boolean;
  /** The dead letter of this input (Odoo's exception queue refers to it by fingerprint). */
  fingerprint?: string;
}

export interface MessageRow {
  seq: number;
  site: string;
  eventId: string;
  type: CanonicalEvent["type"];
  state: OutboxState;
  attempts: number;
  source: Source;
  origin: string;
  receivedAt: number;
  settledAt: number | null;
  duplicates: number;
  ref: string | null;
  lastCode: string | null;
  lastMessage: string | null;
  event: CanonicalEvent;
}

export interface MessageFilter {
  site?: string;
  type?: CanonicalEvent["type"];
  state?: OutboxState;
  /** Events whose order key is this (e.g. `main/order/WH/MO/00001`). */
  orderKey?: string;
  limit?: number;
  beforeSeq?: number;
}

export interface SiteStats {
  site: string;
  /** Outbox rows not yet settled (pending or leased). */
  pending: number;
  deadLetters: number;
  /** Epoch ms of the oldest unsettled event's receipt, null when none. */
  oldestPendingAt: number | null;
  /** The same per lane, every lane listed (critical first). */
  lanes: LaneStats[];
  /** Of `pending`, the events a posting window keeps waiting (last code `held`). */
  held: number;
  /** Epoch ms when the first of them is due, null when none. */
  heldUntil: number | null;
}

export interface LaneStats {
  lane: Lane;
  pending: number;
  oldestPendingAt: number | null;
}

export interface StoreStats {
  sites: SiteStats[];
}

export interface PurgeOptions {
  /** Settled events received before this epoch ms are deleted. */
  settledBefore: number;
  /** Replayed / discarded dead letters last updated before this epoch ms are deleted. */
  closedDeadLettersBefore: number;
}

export interface Eviction {
  site: string;
  code: string;
  evicted: number;
  /** Epoch ms of the (last) eviction. */
  at: number;
}

export interface PurgeResult {
  events: number;
  deadLetters: number;
}
