/**
 * Legacy rows: what a file line, a table row or an HTTP item becomes before it is mapped. "Rows
 * are mapped like messages" (ARCHITECTURE.md): each row is given to a `RowMapper` — the JSONata
 * mapping of the schedule (jsonata-row-mapper.ts) or, with no mapping, the canonical-rows mapper
 * below, for sources whose columns already are canonical fields.
 */
import type { EventChecker } from "../../contracts/checkers.js";
import { createHash } from "node:crypto";
import type { ParsedItem, Rejection, Source } from "../../canonical/parse.js";
import { EVENT_TYPES, MAX_ID_LENGTH, type EventType } from "../../canonical/schema.js";
import { describeError, type RejectionCode } from "../../errors.js";
import { toIsoTimestamp } from "../../canonical/time.js";

/** Column name → value, as the source gave it (strings from files; typed values from SQL). */
export type LegacyRow = Record<string, unknown>;

export interface RowContext {
  site: string;
  source: Source;
  /** Where the row came from, kept on its dead letters: `file:<name>:<line>`, `sql:<table>:<key>`. */
  origin: string;
  /**
   * The row's deterministic idempotency key when it has no `id` of its own (file checksum +
   * line, table + key): the same row read again gets the same key.
   */
  key: string;
  /** Time zone of the site: naive timestamps of legacy systems are local plant time. */
  timezone: string;
  /** Epoch ms the row was read. */
  receivedAt: number;
  /**
   * Columns that only serve the source (its watermark and key): not event fields. A key column
   * named `id` is one of them; the event's `id` is then the derived `key`.
   */
  technical?: readonly string[];
  /**
   * What a mapping's expressions see besides the row: `$file` and `$line` (file drops), `$table`
   * (SQL), `$source` (HTTP), with `$origin` and `$key` always.
   */
  bindings?: Record<string, unknown>;
}

/** Turns one row into canonical events and rejections (never throws for bad data). */
export type RowMapper = (row: LegacyRow, ctx: RowContext) => Promise<ParsedItem[]>;

export interface CanonicalRowMapperOptions {
  check: EventChecker;
  /** The event type of rows without a `type` column. @default none: `type` is required */
  eventType?: EventType;
}

const NUMBERS = new Set(["quantity"]);
const BOOLEANS = new Set(["finish", "backorder", "hold"]);
const TIMESTAMPS = new Set(["occurredAt", "start", "end"]);
/** Dotted columns (`attributes.shift`, `counters.good`) become nested objects. */
const NESTED = new Set(["attributes", "counters"]);

/**
 * Rows whose columns are canonical field names (`order`, `quantity`, `occurredAt`, ...): empty
 * cells are left out, numbers and booleans are read from text, naive timestamps are taken in the
 * site's time zone, `id` defaults to the row's derived key. The dead letter of a row that is not
 * a valid event keeps the row as canonical JSON, so an operator can edit and replay it.
 */
export function createCanonicalRowMapper(options: CanonicalRowMapperOptions): RowMapper {
  const { check } = options;
  return async (row, ctx) => {
    const candidate: Record<string, unknown> = {};
    for (const [column, raw] of Object.entries(row)) {
      if (raw === null || raw === undefined || raw === "") continue;
      if (ctx.technical?.includes(column)) continue;
      const dot = column.indexOf(".");
      if (dot > 0 && NESTED.has(column.slice(0, dot))) {
        const group = column.slice(0, dot);
        const nested = (candidate[group] ??= {}) as Record<string, unknown>;
        nested[column.slice(dot + 1)] = group === "counters" ? toNumber(raw) : raw;
        continue;
      }
      candidate[column] = convert(column, raw, ctx.timezone);
    }
    candidate.type ??= options.eventType;
    if (candidate.id === undefined) candidate.id = ctx.key;
    else candidate.id = String(candidate.id);
    if (candidate.type === "quality" && typeof candidate.value === "string") {
      const n = Number(candidate.value);
      if (candidate.value.trim() !== "" && Number.isFinite(n)) candidate.value = n;
    }
    return [check(candidate, { site: ctx.site, source: ctx.source, origin: ctx.origin })];
  };
}

function convert(column: string, value: unknown, timezone: string): unknown {
  if (NUMBERS.has(column)) return toNumber(value);
  if (BOOLEANS.has(column)) return toBoolean(value);
  if (TIMESTAMPS.has(column)) return toIsoTimestamp(value, timezone);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return value;
}

function toNumber(value: unknown): unknown {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "string") return value;
  // Legacy exports write decimal commas ("12,5"); a thousands separator is not guessed.
  const text = value.trim().replace(/^([+-]?\d+),(\d+)$/, "$1.$2");
  const n = Number(text);
  return text !== "" && Number.isFinite(n) ? n : value;
}

function toBoolean(value: unknown): unknown {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value !== "string") return value;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "y", "x", "on"].includes(v)) return true;
  if (["0", "false", "no", "n", "off", ""].includes(v)) return false;
  return value;
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * A key within the contract's 200 characters: short keys are kept as they are (readable in the
 * trace), longer ones keep a readable head and a hash of the whole.
 */
export function boundedKey(key: string): string {
  if (key.length <= MAX_ID_LENGTH) return key;
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 32);
  return `${key.slice(0, MAX_ID_LENGTH - 33)}~${hash}`;
}

/**
 * A dead letter for a row that could not even be read as a row (wrong column count, a line too
 * short for its fixed-width columns, a record that is not an object); keeps the raw text.
 */
export function rowRejection(
  ctx: Pick<RowContext, "site" | "source" | "origin">,
  code: RejectionCode,
  message: string,
  payload: string,
): ParsedItem {
  const rejection: Rejection = {
    site: ctx.site,
    code,
    message,
    payload,
    payloadEncoding: "utf8",
    payloadSize: Buffer.byteLength(payload),
    source: ctx.source,
    origin: ctx.origin,
    fingerprint: createHash("sha256")
      .update(`${ctx.source}\0${ctx.origin}\0${ctx.site}\0${code}\0`)
      .update(payload)
      .digest("hex"),
  };
  return { kind: "reject", rejection };
}

/**
 * A row mapper that never fails a chunk: a row whose mapping throws (a bug, a value a library
 * chokes on) becomes an `internal` dead letter of that row, and the rows around it still commit.
 * Without it one such row would fail its chunk at every run, and the source would never move on.
 */
export function guardRowMapper(mapper: RowMapper): RowMapper {
  return (row, ctx) => {
    const fail = (err: unknown) => [
      rowRejection(
        ctx,
        "internal",
        `failed while mapping this row: ${describeError(err)}`,
        rowText(row),
      ),
    ];
    try {
      return mapper(row, ctx).catch(fail);
    } catch (err) {
      return Promise.resolve(fail(err));
    }
  };
}

function rowText(row: LegacyRow): string {
  try {
    return JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
  } catch {
    return "(row could not be written as JSON)";
  }
}

/** Prefixes every rejection's message with where the row was (`line 12: ...`). */
export function locate(items: ParsedItem[], where: string): ParsedItem[] {
  for (const item of items)
    if (item.kind === "reject" && !item.rejection.message.startsWith(where))
      item.rejection.message = `${where}: ${item.rejection.message}`;
  return items;
}
