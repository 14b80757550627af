/**
 * The check of one already-parsed candidate event for a channel of a site: its shape, epoch
 * milliseconds in date-time fields, the site rule (an event without `site` takes the channel's;
 * a different one is `unauthorized`) and the v1 schemas. No Node.js module: the Mapping Studio's
 * preview checks in the browser what the sidecar checks (canonical/parse.ts builds its dead
 * letters from the outcome).
 */
import type { RejectionCode } from "../errors.js";
import { checkValueShape } from "./shape.js";
import { dateTimeFieldsOf } from "./schema.js";
import { fromEpochMs } from "./time.js";
import type { CanonicalEvent } from "./types.js";
import { createEventValidator } from "./validate.js";

export type CandidateCheck =
  | { ok: true; event: CanonicalEvent }
  | {
      ok: false;
      code: RejectionCode;
      message: string;
      /** JSON pointer of the offending field, when known. */
      path?: string;
      /** The candidate as checked (with the channel's site and ISO timestamps). */
      candidate: unknown;
      /** Too complex to write out (the shape check refused it before anything walked it). */
      opaque?: true;
    };

export function createCandidateCheck(): (candidate: unknown, site: string) => CandidateCheck {
  const validate = createEventValidator();
  return function checkCandidate(candidate, site) {
    // Values that did not come through the text scan (GraphQL inputs, mapping outputs, rows):
    // checked before anything walks them recursively (the schema, JSON.stringify).
    const shape = checkValueShape(candidate);
    if (shape)
      return { ok: false, code: shape.code, message: shape.message, candidate, opaque: true };
    if (candidate !== null && typeof candidate === "object" && !Array.isArray(candidate)) {
      let obj = candidate as Record<string, unknown>;
      // Epoch milliseconds in any date-time field become ISO-8601 (not only occurredAt).
      for (const field of dateTimeFieldsOf(obj.type)) {
        if (typeof obj[field] !== "number") continue;
        const iso = fromEpochMs(obj[field]);
        if (iso !== obj[field]) obj = { ...obj, [field]: iso };
      }
      candidate = obj;
      if (obj.site === undefined) {
        candidate = { ...obj, site };
      } else if (obj.site !== site) {
        return {
          ok: false,
          code: "unauthorized",
          message: `event for site ${describeValue(obj.site)} received on a channel of site ${site}`,
          path: "/site",
          candidate,
        };
      }
    }
    const result = validate(candidate);
    return result.ok ? result : { ...result, candidate };
  };
}

/** A short, safe rendering of any parsed value for a message (never calls the value's methods). */
function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 64)) : `a ${kindOf(value)}`;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "array" : typeof value;
}
