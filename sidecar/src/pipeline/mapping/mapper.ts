/**
 * From a source message and a mapping to canonical events: the variables the expression sees,
 * the defaults of what it produced, deterministic idempotency keys, validation, and the dead
 * letters of what went wrong (naming the mapping version that did it).
 */
import type {
  EvaluationInput,
  EvaluationJob,
  EvaluationLimits,
  EvaluationOutcome,
} from "../../mapping-core/contract.js";
import type { EventChecker } from "../../contracts/checkers.js";
import { createHash } from "node:crypto";
import type { ParsedItem, Rejection, Source } from "../../canonical/parse.js";
import { expressionBindings } from "../../mapping-core/bindings.js";
import { withDefaults, type Fields } from "../../mapping-core/events.js";
import type { RejectionCode } from "../../errors.js";
import { versionLabel, type MappingDefinition } from "./definition.js";

/** One message from the plant, as the mapping engine sees it. */
export interface SourceMessage {
  topic: string;
  source: Source;
  /** What expressions read: the payload text, or a decoded value (Sparkplug). */
  input: EvaluationInput;
  /** What a dead letter keeps: the payload as received (Sparkplug: its decoded JSON). */
  payload: Buffer;
  /** Epoch ms. */
  receivedAt: number;
  /**
   * Distinguishes two messages with the same topic and payload that are not a redelivery
   * (Sparkplug: the session's bdSeq). Part of the derived idempotency key.
   */
  keySalt?: string;
  /** The base of derived keys when `payload` is not what was received (Sparkplug). */
  digest?: string;
  /** Extra variables for the expressions (Sparkplug: `$sparkplug`, `$workcenter`). */
  bindings?: Fields;
}

export function evaluationJob(
  definition: MappingDefinition,
  message: SourceMessage,
  params: Record<string, string>,
  limits: EvaluationLimits,
): EvaluationJob {
  const bindings = expressionBindings({
    topic: message.topic,
    params,
    site: definition.site,
    receivedAt: new Date(message.receivedAt).toISOString(),
    mapping: { id: definition.id, name: definition.name, version: definition.version },
    ...(message.bindings && { extra: message.bindings }),
  });
  return {
    expression: definition.expression,
    ...(definition.keyExpression && { keyExpression: definition.keyExpression }),
    input: message.input,
    bindings,
    limits,
  };
}

/** The base of derived keys: sha256 over topic, salt and payload, the same on every delivery. */
export function messageDigest(topic: string, payload: Uint8Array, salt = ""): string {
  return createHash("sha256").update(`${topic}\0${salt}\0`).update(payload).digest("hex");
}

/**
 * What the expression produced, with the defaults a mapping gives: `type` (the mapping's
 * target type), `site` (the mapping's), `occurredAt` (missing: when the sidecar received the
 * message). Every date-time field (`occurredAt`, `start`, `end`, ...) takes epoch milliseconds
 * (`$toMillis`) and, when the site's time zone is known, a local time without offset read in that
 * zone. Items that are not objects are refused by the sandbox already.
 */
export function producedItems(
  definition: MappingDefinition,
  outcome: Extract<EvaluationOutcome, { ok: true }>,
  message: SourceMessage,
): Fields[] {
  const items = JSON.parse(outcome.output) as Fields[];
  const defaults = {
    eventType: definition.eventType,
    site: definition.site,
    receivedAt: new Date(message.receivedAt).toISOString(),
    timezone: definition.timezone ?? message.bindings?.timezone,
  };
  return items.map((item) => withDefaults(item, defaults).event);
}

/** Where an event came from in the trace: the topic (or the selector) and the mapping version. */
export function originOf(definition: MappingDefinition, topicOrPattern: string): string {
  return `${topicOrPattern}#${versionLabel(definition)}`;
}

/**
 * Validates produced events. A rejection keeps the source message (not the produced event, which
 * its text shows), so that a replay after fixing the mapping runs the message through it again.
 */
export function checkEvents(
  definition: MappingDefinition,
  events: Fields[],
  context: { source: Source; origin: string; check: EventChecker },
  from?: { message: SourceMessage; origin: string },
): ParsedItem[] {
  return events.map((event) => {
    const item = context.check(event, {
      site: definition.site,
      source: context.source,
      origin: context.origin,
    });
    if (item.kind === "event") return item;
    const text = `${item.rejection.message} in ${item.rejection.payload.slice(0, 300)}`;
    if (!from) {
      item.rejection.message = `${prefix(definition)}${text}`;
      return item;
    }
    const rejected = mappingRejection(
      definition,
      from.message,
      item.rejection.code,
      text,
      from.origin,
    );
    if (rejected.kind === "reject" && item.rejection.eventId !== undefined)
      rejected.rejection.eventId = item.rejection.eventId;
    return rejected;
  });
}

/** A dead letter for a message a mapping could not use; it keeps the message itself. */
export function mappingRejection(
  definition: MappingDefinition,
  message: SourceMessage,
  code: RejectionCode,
  text: string,
  origin: string,
): ParsedItem {
  const asText = decodeUtf8(message.payload);
  const rejection: Rejection = {
    site: definition.site,
    code,
    message: `${prefix(definition)}${text}`,
    payload: asText ?? message.payload.toString("base64"),
    payloadEncoding: asText === undefined ? "base64" : "utf8",
    payloadSize: message.payload.length,
    source: message.source,
    origin,
    fingerprint: createHash("sha256")
      .update(`${message.source}\0${origin}\0${definition.site}\0${code}\0`)
      .update(message.payload)
      .digest("hex"),
  };
  return { kind: "reject", rejection };
}

function prefix(definition: MappingDefinition): string {
  return `mapping ${JSON.stringify(definition.name)} ${versionLabel(definition)}: `;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
