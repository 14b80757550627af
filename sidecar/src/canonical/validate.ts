import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { RejectionCode } from "../errors.js";
import { EVENT_TYPES, eventSchemas, type EventType } from "./schema.js";
import type { CanonicalEvent } from "./types.js";

// ajv-formats is CommonJS with a default export; unwrap it whatever the interop gives us.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

export type Validation =
  | { ok: true; event: CanonicalEvent }
  | { ok: false; code: RejectionCode; message: string; path: string };

/** Compiles the v1 schemas once; a validator is cheap to call and safe to share. */
export function createEventValidator(): (candidate: unknown) => Validation {
  const ajv = new Ajv({
    allErrors: false,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  const byType = new Map<EventType, ValidateFunction>();
  for (const type of EVENT_TYPES) byType.set(type, ajv.compile(eventSchemas[type]));

  return (candidate) => {
    if (candidate === null || typeof candidate !== "object" || Array.isArray(candidate)) {
      return reject("schema", "an event must be a JSON object", "");
    }
    const type = (candidate as { type?: unknown }).type;
    const validate = typeof type === "string" ? byType.get(type as EventType) : undefined;
    if (!validate) {
      return reject("schema", `unknown event type ${describe(type)}`, "/type");
    }
    if (!validate(candidate)) return fromAjv(validate.errors ?? []);
    const event = candidate as CanonicalEvent;
    if (event.type === "downtime" && Date.parse(event.end) < Date.parse(event.start)) {
      return reject("schema", "downtime end is before its start", "/end");
    }
    if (event.type === "labor" && event.start && event.end) {
      if (Date.parse(event.end) < Date.parse(event.start)) {
        return reject("schema", "labor end is before its start", "/end");
      }
    }
    return { ok: true, event };
  };
}

function fromAjv(errors: ErrorObject[]): Validation {
  const first = errors[0];
  if (!first) return reject("schema", "invalid event", "");
  const path =
    first.keyword === "additionalProperties"
      ? `${first.instancePath}/${String((first.params as { additionalProperty?: string }).additionalProperty)}`
      : first.keyword === "required"
        ? `${first.instancePath}/${String((first.params as { missingProperty?: string }).missingProperty)}`
        : first.instancePath;
  const code: RejectionCode = /^\/quantity$/.test(first.instancePath) ? "bad_quantity" : "schema";
  const what =
    first.keyword === "additionalProperties"
      ? "is not a field of this event type"
      : (first.message ?? "is invalid");
  return reject(code, `${path || "event"} ${what}`, path);
}

function reject(code: RejectionCode, message: string, path: string): Validation {
  return { ok: false, code, message, path };
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 50));
  return value === undefined ? "(missing)" : typeof value;
}
