/**
 * One error taxonomy across the stack (STYLE.md "Errors"): every error the sidecar raises or
 * records carries a stable `code`, a `kind` that decides what the pipeline does with it, and
 * whether it is worth retrying.
 */

/** Stable codes of rejected input (ARCHITECTURE.md "What bad input gets"). */
export const REJECTION_CODES = [
  "invalid_json",
  /** A binary payload (Sparkplug B) that does not decode. */
  "invalid_protobuf",
  "schema",
  "mapping_error",
  "unknown_site",
  "unknown_order",
  "unknown_product",
  "unknown_lot",
  "unknown_workcenter",
  "unknown_operation",
  "unknown_equipment",
  /** A maintenance event for a work center with several equipment and no binding naming one. */
  "ambiguous_equipment",
  /** A `location` (scrap), `from` / `to` (transfer) that is no location of the site's warehouse. */
  "unknown_location",
  /**
   * A transfer (`picking`, or an order's `step`) or a record's `delivery` (picking name) the
   * site's warehouse does not have.
   */
  "unknown_picking",
  /** A `package` (transfer) Odoo has none of that name. */
  "unknown_package",
  /** An `operator` (badge or login) that is no user of the site's company. */
  "unknown_operator",
  /** A record's `customer` that is no contact of the site's company (by reference or name). */
  "unknown_customer",
  /** A record whose inline content does not have the SHA-256 it claims. */
  "bad_digest",
  "bad_quantity",
  /** A `uom` Odoo has no active unit of that name for, or one that does not measure the same thing. */
  "bad_uom",
  /** A downtime reason that is no downtime: a productive or performance (reduced speed) loss. */
  "bad_loss",
  "state_conflict",
  /** Dated in a period the company has locked (accounting lock dates): never posted there. */
  "period_locked",
  "quality_hold",
  "duplicate",
  "unauthorized",
  "not_system_of_record",
  "too_large",
  /** Nesting, number of values, string or number length beyond the limits (before any parse). */
  "too_complex",
  "signature",
  "replayed",
  "unexpected",
  /**
   * A failure of ours while handling one message (a bug, not bad input): the message is kept as a
   * dead letter for a replay once fixed, and the flow goes on.
   */
  "internal",
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

export function isRejectionCode(code: string): code is RejectionCode {
  return (REJECTION_CODES as readonly string[]).includes(code);
}

export type ErrorKind = "transient" | "permanent" | "config" | "unexpected";

export interface PlantBridgeErrorOptions {
  kind: ErrorKind;
  cause?: unknown;
  /** Extra, non-secret detail kept in the trace (for example Odoo's JSON-2 error body). */
  detail?: unknown;
}

/** Base of every typed error: `code` is stable, `retryable` follows from `kind`. */
export class PlantBridgeError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly detail: unknown;

  constructor(code: string, message: string, options: PlantBridgeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PlantBridgeError";
    this.code = code;
    this.kind = options.kind;
    this.detail = options.detail;
  }

  get retryable(): boolean {
    return this.kind === "transient" || this.kind === "unexpected";
  }
}

/** Odoo down, lock conflict, 5xx, network: retry with backoff and jitter. */
export class TransientError extends PlantBridgeError {
  constructor(code: string, message: string, options: Omit<PlantBridgeErrorOptions, "kind"> = {}) {
    super(code, message, { ...options, kind: "transient" });
    this.name = "TransientError";
  }
}

/** Bad data, unknown business key: dead letter with a stable code, replayable. */
export class PermanentError extends PlantBridgeError {
  constructor(code: string, message: string, options: Omit<PlantBridgeErrorOptions, "kind"> = {}) {
    super(code, message, { ...options, kind: "permanent" });
    this.name = "PermanentError";
  }
}

/** Credentials, rights, missing configuration: pause that pipeline, alert, keep buffering. */
export class ConfigError extends PlantBridgeError {
  constructor(code: string, message: string, options: Omit<PlantBridgeErrorOptions, "kind"> = {}) {
    super(code, message, { ...options, kind: "config" });
    this.name = "ConfigError";
  }
}

/**
 * The store could not commit (disk full, database gone, I/O error). The one failure that may hold
 * input back: the input is not acknowledged and comes again, never dead-lettered for it.
 */
export class StoreError extends TransientError {
  constructor(message: string, options: Omit<PlantBridgeErrorOptions, "kind"> = {}) {
    super("store_unavailable", message, options);
    this.name = "StoreError";
  }
}

/** A short, secret-free description of any thrown value, for a dead letter or a log line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 500);
  return `thrown ${err === null ? "null" : typeof err}`;
}
