import { createHash } from "node:crypto";
import secureJson from "secure-json-parse";
import type { RejectionCode } from "../errors.js";
import { createCandidateCheck } from "./check.js";
import { checkJsonShape, DEFAULT_SHAPE_LIMITS, type ShapeLimits } from "./shape.js";
import type { CanonicalEvent } from "./types.js";

/** Where an input came from; the same words are used in the trace and in metrics labels. */
export type Source =
  "mqtt" | "graphql" | "file" | "sql" | "http" | "sim" | "replay" | "sparkplug" | "webhook";

/** An input that could not become a canonical event: it is kept, with its code, for replay. */
export interface Rejection {
  site: string;
  /** The event's `id` when one could be read. */
  eventId?: string;
  code: RejectionCode;
  message: string;
  /** The original payload (UTF-8 text, or base64 when it was not valid UTF-8). */
  payload: string;
  payloadEncoding: "utf8" | "base64";
  /** Size in bytes of the original payload (the kept payload may be truncated when too large). */
  payloadSize: number;
  source: Source;
  origin: string;
  /** Same input, same source, same code → same fingerprint: a redelivery is not stored twice. */
  fingerprint: string;
}

export type ParsedItem =
  { kind: "event"; event: CanonicalEvent } | { kind: "reject"; rejection: Rejection };

export interface ParseLimits {
  /** Largest accepted message in bytes. @default 262144 (256 KiB) */
  maxMessageBytes: number;
  /** Most events in one array message. @default 1000 */
  maxEventsPerMessage: number;
  /** Bytes of a too large payload kept in its dead letter. @default 65536 */
  keptPayloadBytes: number;
  /** Shape limits checked before the JSON is parsed. @default DEFAULT_SHAPE_LIMITS */
  shape?: ShapeLimits;
}

export const DEFAULT_LIMITS: ParseLimits = {
  maxMessageBytes: 256 * 1024,
  maxEventsPerMessage: 1000,
  keptPayloadBytes: 64 * 1024,
};

export interface MessageContext {
  /** The site the channel speaks for (from the topic, the token or the connector). */
  site: string;
  source: Source;
  /** Topic, file name + line, table + key... */
  origin: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Turns a canonical-topic message (one event or a JSON array of events) into events and
 * rejections. Never throws: every bad input comes back as a rejection with its stable code.
 */
export function createMessageParser(limits: ParseLimits = DEFAULT_LIMITS) {
  const check = createEventChecker();

  return function parseMessage(payload: Uint8Array | string, ctx: MessageContext): ParsedItem[] {
    const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
    if (bytes.length > limits.maxMessageBytes) {
      const kept = bytes.subarray(0, limits.keptPayloadBytes);
      return [
        rejectBytes(
          ctx,
          bytes,
          kept,
          "too_large",
          `message of ${bytes.length} bytes exceeds the limit of ${limits.maxMessageBytes}`,
        ),
      ];
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return [rejectBytes(ctx, bytes, bytes, "invalid_json", "payload is not valid UTF-8")];
    }
    const shape = checkJsonShape(text, limits.shape ?? DEFAULT_SHAPE_LIMITS);
    if (shape) return [rejectText(ctx, text, shape.code, shape.message)];
    let parsed: unknown;
    try {
      parsed = secureJson.parse(text, undefined, {
        protoAction: "error",
        constructorAction: "error",
      });
    } catch (err) {
      const forbidden = err instanceof SyntaxError && /prototype/i.test(err.message);
      return [
        rejectText(
          ctx,
          text,
          forbidden ? "schema" : "invalid_json",
          forbidden
            ? "payload uses a forbidden key (__proto__ or constructor.prototype)"
            : `payload is not JSON: ${(err as Error).message}`,
        ),
      ];
    }
    if (Array.isArray(parsed)) {
      if (parsed.length > limits.maxEventsPerMessage) {
        return [
          rejectText(
            ctx,
            text,
            "too_large",
            `array of ${parsed.length} events exceeds the limit of ${limits.maxEventsPerMessage}`,
          ),
        ];
      }
      return parsed.map((candidate) => check(candidate, ctx));
    }
    return [check(parsed, ctx)];
  };
}

/**
 * Validates one already-parsed candidate event for a channel: applies the site rule (an event
 * without `site` takes the channel's; a different one is `unauthorized`) and the v1 schemas.
 */
export function createEventChecker() {
  const checkCandidate = createCandidateCheck();
  return function check(candidate: unknown, ctx: MessageContext): ParsedItem {
    const result = checkCandidate(candidate, ctx.site);
    if (result.ok) return { kind: "event", event: result.event };
    return result.opaque
      ? rejectOpaque(ctx, result.candidate, result.code, result.message)
      : rejectValue(ctx, result.candidate, result.code, result.message);
  };
}

/** A rejection of a value too complex to write out: its id and a note stand for the payload. */
function rejectOpaque(
  ctx: MessageContext,
  candidate: unknown,
  code: RejectionCode,
  message: string,
): ParsedItem {
  const id = (candidate as { id?: unknown } | null)?.id;
  const eventId = typeof id === "string" && id.length > 0 ? id.slice(0, 200) : undefined;
  const item = rejectText(
    ctx,
    JSON.stringify({ id: eventId ?? null, refused: message }),
    code,
    message,
  );
  if (eventId !== undefined) item.rejection.eventId = eventId;
  return item;
}

function rejectValue(
  ctx: MessageContext,
  candidate: unknown,
  code: RejectionCode,
  message: string,
): ParsedItem {
  const text = JSON.stringify(candidate) ?? String(candidate);
  const id = (candidate as { id?: unknown } | null)?.id;
  const eventId = typeof id === "string" && id.length > 0 ? id.slice(0, 200) : undefined;
  const item = rejectText(ctx, text, code, message);
  if (eventId !== undefined) item.rejection.eventId = eventId;
  return item;
}

function rejectText(ctx: MessageContext, text: string, code: RejectionCode, message: string) {
  return {
    kind: "reject" as const,
    rejection: {
      site: ctx.site,
      code,
      message,
      payload: text,
      payloadEncoding: "utf8" as const,
      payloadSize: Buffer.byteLength(text),
      source: ctx.source,
      origin: ctx.origin,
      fingerprint: fingerprint(ctx, code, text),
    } satisfies Rejection as Rejection,
  };
}

function rejectBytes(
  ctx: MessageContext,
  all: Buffer,
  kept: Buffer,
  code: RejectionCode,
  message: string,
): ParsedItem {
  return { kind: "reject", rejection: rejectPayload(ctx, code, message, kept, all.length, all) };
}

/**
 * A rejection of raw bytes of which only `kept` (a prefix, or all of them) is stored: `size` is
 * the original size, `identity` what its fingerprint is computed over (default: `kept`).
 */
export function rejectPayload(
  ctx: MessageContext,
  code: RejectionCode,
  message: string,
  kept: Buffer,
  size: number = kept.length,
  identity: Buffer = kept,
): Rejection {
  const asText = (() => {
    try {
      return { payload: utf8.decode(kept), payloadEncoding: "utf8" as const };
    } catch {
      return { payload: kept.toString("base64"), payloadEncoding: "base64" as const };
    }
  })();
  return {
    site: ctx.site,
    code,
    message,
    ...asText,
    payloadSize: size,
    source: ctx.source,
    origin: ctx.origin,
    fingerprint: fingerprint(ctx, code, identity),
  };
}

function fingerprint(ctx: MessageContext, code: string, payload: string | Buffer): string {
  return createHash("sha256")
    .update(`${ctx.source}\0${ctx.origin}\0${ctx.site}\0${code}\0`)
    .update(payload)
    .digest("hex");
}
