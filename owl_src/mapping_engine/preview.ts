/**
 * Runs a mapping on one sample the way the sidecar does (sidecar/src/pipeline/mapping/): the same
 * JSONata engine (the `jsonata` package, with the sidecar's evaluation limits), the same variables,
 * defaults and derived keys, and the same canonical validation (sidecar/src/canonical: the same
 * schemas, the same codes, the same site rule).
 */
import jsonata from "jsonata";
import { createEventValidator } from "../../sidecar/src/canonical/validate.js";
import type {
  MappingEngine,
  PreviewError,
  PreviewEvent,
  PreviewRequest,
  PreviewResult,
  Validation,
} from "../mapping_studio/engine_types.js";
import { sourceBindings } from "./selector.js";

/** The sidecar's evaluation limits (its sandbox defaults): an expression that would be stopped
 * there is stopped here too. */
export const LIMITS = { timeout: 100, stack: 500, sequence: 100_000, maxEvents: 1000 };

/** Variables the sidecar reserves; a named topic segment never shadows them. */
const RESERVED = new Set(["topic", "levels", "params", "receivedAt", "mapping", "event", "index"]);

type Fields = Record<string, unknown>;

class StageError extends Error {
  constructor(
    readonly where: PreviewError["where"],
    message: string,
    readonly position?: number,
    readonly code: PreviewError["code"] = "mapping_error",
  ) {
    super(message);
  }
}

function compile(text: string, where: "expression" | "key") {
  try {
    return jsonata(text, {
      timeout: LIMITS.timeout,
      stack: LIMITS.stack,
      sequence: LIMITS.sequence,
    });
  } catch (err) {
    throw asStageError(err, where);
  }
}

function asStageError(err: unknown, where: PreviewError["where"]): StageError {
  if (err instanceof StageError) return err;
  const e = (err ?? {}) as { message?: string; position?: number };
  return new StageError(
    where,
    e.message ?? String(err),
    typeof e.position === "number" ? e.position : undefined,
  );
}

/** JSON, or bare text (devices publish `RUN`) that expressions see as a string. */
function readInput(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    if (/"(__proto__|prototype)"\s*:/.test(text)) {
      throw new StageError(
        "input",
        "payload uses a forbidden key (__proto__ or constructor.prototype)",
        undefined,
        "schema",
      );
    }
    return value;
  } catch (err) {
    if (err instanceof StageError) throw err;
    if (!/^\s*[[{"]/.test(text)) return text;
    throw new StageError("input", `payload is not valid JSON: ${(err as Error).message}`);
  }
}

/** Zero, one or many objects. */
function items(result: unknown): Fields[] {
  if (result === undefined) return [];
  const list = Array.isArray(result) ? [...result] : [result];
  if (list.length > LIMITS.maxEvents) {
    throw new StageError("output", `${list.length} events exceed the limit of ${LIMITS.maxEvents}`);
  }
  list.forEach((item, i) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      const what = item === null ? "null" : Array.isArray(item) ? "an array" : `a ${typeof item}`;
      throw new StageError("output", `item ${i} of the output is ${what}, not an object`);
    }
  });
  // JSONata builds its own objects: plain JSON copies, as the sidecar posts them
  return JSON.parse(JSON.stringify(list)) as Fields[];
}

/**
 * sha256 over topic, salt and payload like the sidecar's messageDigest (hex); `exact` is false
 * when the page has no Web Crypto (plain http on a LAN name) and a stand-in hash was used.
 */
async function digest(topic: string, payload: string): Promise<{ hex: string; exact: boolean }> {
  const bytes = new TextEncoder().encode(`${topic}\0\0${payload}`);
  const subtle = globalThis.crypto?.subtle;
  if (typeof subtle?.digest === "function") {
    try {
      const hash = new Uint8Array(await subtle.digest("SHA-256", bytes));
      return { hex: [...hash].map((b) => b.toString(16).padStart(2, "0")).join(""), exact: true };
    } catch {
      // fall through to the stand-in
    }
  }
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return { hex: (h >>> 0).toString(16).padStart(8, "0").repeat(4), exact: false };
}

/** The sidecar's checker: an event without `site` takes the channel's, another site is refused. */
function validateFor(
  site: string,
  validate: ReturnType<typeof createEventValidator>,
  event: Fields,
): Validation {
  if (event.site !== undefined && event.site !== site) {
    return {
      ok: false,
      code: "unauthorized",
      message: `event for site ${JSON.stringify(String(event.site).slice(0, 64))} received on a channel of site ${site}`,
      path: "/site",
    };
  }
  const v = validate(event);
  return v.ok ? { ok: true } : { ok: false, code: v.code, message: v.message, path: v.path };
}

export function createMappingEngine(): MappingEngine {
  const validate = createEventValidator();

  async function preview(request: PreviewRequest): Promise<PreviewResult> {
    const started = performance.now();
    const { params, ...sourceVars } = sourceBindings(request.selector, request.source);
    const bindings: Fields = {};
    for (const [name, value] of Object.entries(params))
      if (!RESERVED.has(name)) bindings[name] = value;
    Object.assign(bindings, sourceVars, {
      params,
      site: params.site ?? request.site,
      receivedAt: request.receivedAt,
      mapping: request.mapping,
    });
    const site = String(bindings.site);
    const result = (r: Omit<PreviewResult, "ms" | "bindings">): PreviewResult => ({
      ...r,
      bindings,
      ms: performance.now() - started,
    });
    let output: unknown;
    let produced: Fields[] = [];
    try {
      const expression = compile(request.expression, "expression");
      const keyExpression = request.keyExpression?.trim()
        ? compile(request.keyExpression, "key")
        : undefined;
      const input = readInput(request.payload);
      try {
        output = await expression.evaluate(input, bindings);
      } catch (err) {
        throw asStageError(err, "expression");
      }
      produced = items(output);
      const keys: (string | undefined)[] = [];
      if (keyExpression) {
        for (const [index, event] of produced.entries()) {
          let key: unknown;
          try {
            key = await keyExpression.evaluate(input, { ...bindings, event, index });
          } catch (err) {
            throw asStageError(err, "key");
          }
          if (
            key !== undefined &&
            key !== null &&
            typeof key !== "string" &&
            typeof key !== "number"
          ) {
            throw new StageError("key", `the key expression gave a ${typeof key}, not a string`);
          }
          keys.push(key === undefined || key === null ? undefined : String(key));
        }
      }
      const hash = await digest(request.source, request.payload);
      const base = `${request.ref}-${hash.hex.slice(0, 32)}`;
      // keys a key expression repeats within one message get the item's index, all of them
      const repeatedKeys = new Set(keys.filter((k, i) => k !== undefined && keys.indexOf(k) !== i));
      const events: PreviewEvent[] = produced.map((item, i) => {
        const event: Fields = { ...item };
        const filled: string[] = [];
        if (!(typeof event.id === "string" && event.id.length > 0)) {
          const key = keys[i];
          const repeated = key !== undefined && repeatedKeys.has(key) ? `-${i}` : "";
          event.id =
            key !== undefined
              ? `${key}${repeated}`
              : `${base}${produced.length > 1 ? `-${i}` : ""}`;
          filled.push("id");
        }
        if (typeof event.occurredAt === "number" && Number.isFinite(event.occurredAt)) {
          event.occurredAt = new Date(event.occurredAt).toISOString();
        }
        const defaults = { type: request.eventType, site, occurredAt: request.receivedAt };
        for (const [field, value] of Object.entries(defaults)) {
          if (event[field] === undefined) {
            event[field] = value;
            filled.push(field);
          }
        }
        return { event, filled, validation: validateFor(site, validate, event) };
      });
      const derived = events.some((e) => e.filled.includes("id")) && !keyExpression;
      return result({
        ok: events.every((e) => e.validation.ok),
        output,
        events,
        ...(derived && !hash.exact && { approximateKeys: true }),
      });
    } catch (err) {
      const e = asStageError(err, "expression");
      const error: PreviewError = {
        code: e.code,
        message: e.message,
        where: e.where,
        ...(e.position !== undefined && { position: e.position }),
      };
      return result({ ok: false, output, events: [], error });
    }
  }

  return { preview };
}
