/**
 * The contract between the Mapping Studio and its engine (owl_src/mapping_engine/, a lazily
 * loaded bundle: JSONata and the canonical validator are large and only the Studio needs them).
 */

export interface PreviewRequest {
  /** The mapping version (`$mapping` in expressions). */
  mapping: { id: number; name: string; version: number };
  /** The sidecar's reference of the mapping (`m<first version id>`), the base of derived keys. */
  ref: string;
  /** The JSONata expression of the mapping. */
  expression: string;
  /** JSONata giving the idempotency key; empty: derived from the source like the sidecar does. */
  keyExpression?: string;
  /** The mapping's target event type, the default of `type`. */
  eventType: string;
  /** Site code, the default of `site`. */
  site: string;
  /** The mapping's selector (topic pattern with named segments, file glob or table). */
  selector: string;
  /** Where the sample came from: topic, `file.csv:12`, table + key. */
  source: string;
  /** The sample as received (text; JSON, or bare text that expressions see as a string). */
  payload: string;
  /** ISO time of reception, the default of `occurredAt`. */
  receivedAt: string;
  /** The site's time zone: local times without offset are read in it, as the sidecar does. */
  timezone?: string;
}

export interface Validation {
  ok: boolean;
  /** Canonical rejection code when not ok (`schema`, `bad_quantity`, ...). */
  code?: string;
  message?: string;
  /** JSON pointer of the offending field. */
  path?: string;
}

export interface PreviewEvent {
  event: unknown;
  /** Envelope fields the engine filled in (`id`, `site`, `type`, `occurredAt`). */
  filled: string[];
  validation: Validation;
}

export interface PreviewError {
  /** `mapping_error`, as the sidecar records a message its mapping cannot use. */
  code: "mapping_error" | "schema";
  message: string;
  /** Character offset in the expression, when JSONata knows it. */
  position?: number;
  /** What failed: the sample, the expression, its output, or the key expression. */
  where: "input" | "expression" | "output" | "key";
}

export interface PreviewResult {
  /** Every event is valid (false on an error or an invalid event). */
  ok: boolean;
  error?: PreviewError;
  /** The items the expression produced (before defaults and keys). */
  output?: unknown;
  events: PreviewEvent[];
  /** Derived keys are not the sidecar's (no Web Crypto on this page: plain http on a LAN name). */
  approximateKeys?: boolean;
  /** Named segments and other variables the expression could use. */
  bindings: Record<string, unknown>;
  ms: number;
}

export interface MappingEngine {
  preview(request: PreviewRequest): Promise<PreviewResult>;
}
