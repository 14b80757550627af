/**
 * What a mapping's output becomes before validation: the defaults a mapping gives and the
 * idempotency keys of the events it produced. The sidecar (pipeline/mapping/mapper.ts) and the
 * Mapping Studio's preview (owl_src/mapping_engine) both use these.
 */
import { dateTimeFieldsOf } from "../canonical/schema.js";
import { fromEpochMs, isTimeZone, toIsoTimestamp } from "../canonical/time.js";

export type Fields = Record<string, unknown>;

export interface EventDefaults {
  /** The mapping's target event type, the default of `type`. */
  eventType: string;
  /** The mapping's site, the default of `site`. */
  site: string;
  /** ISO-8601: when the message was received, the default of `occurredAt`. */
  receivedAt: string;
  /** The site's time zone: a local time without offset is read in it. */
  timezone?: unknown;
}

/**
 * One produced item with the defaults a mapping gives: `type`, `site`, `occurredAt` (when the
 * message was received). Every date-time field (`occurredAt`, `start`, `end`, ...) takes epoch
 * milliseconds (`$toMillis`) and, when the site's time zone is known, a local time without
 * offset read in that zone; what is not a timestamp is left as it is, for the schema to refuse.
 * `filled` names the fields the defaults gave.
 */
export function withDefaults(
  item: Fields,
  defaults: EventDefaults,
): { event: Fields; filled: string[] } {
  const event: Fields = { ...item };
  const filled: string[] = [];
  const timezone =
    typeof defaults.timezone === "string" && isTimeZone(defaults.timezone)
      ? defaults.timezone
      : undefined;
  if (event.type === undefined || event.type === null) {
    event.type = defaults.eventType;
    filled.push("type");
  }
  if (event.site === undefined || event.site === null) {
    event.site = defaults.site;
    filled.push("site");
  }
  for (const field of dateTimeFieldsOf(event.type)) {
    const value = event[field];
    if (value === undefined) continue;
    event[field] = timezone ? toIsoTimestamp(value, timezone) : fromEpochMs(value);
  }
  if (event.occurredAt === undefined || event.occurredAt === null) {
    event.occurredAt = defaults.receivedAt;
    filled.push("occurredAt");
  }
  return { event, filled };
}

/**
 * Ids of produced events: the one the expression set, else the key expression's, else derived
 * from the message: `<mapping ref>-<digest>`, `-<n>` when the message gave several events.
 * The mapping's reference (not its version) is part of it, so two mappings of one topic do not
 * collide, and a new version of a mapping does not post a redelivered message again. Returns the
 * indexes of the events whose id was assigned here.
 */
export function assignIds(
  mapping: { ref: string },
  events: Fields[],
  keys: ReadonlyArray<string | null | undefined> | undefined,
  digest: string,
): Set<number> {
  const several = events.length > 1;
  const fromKeys = keys?.map((k) => k ?? undefined);
  // Keys from a key expression that repeat within one message get the item's index.
  const repeated = new Set(
    (fromKeys ?? []).filter((k, i, all) => k !== undefined && all.indexOf(k) !== i),
  );
  const assigned = new Set<number>();
  events.forEach((event, i) => {
    if (typeof event.id === "string" && event.id.length > 0) return;
    const key = fromKeys?.[i];
    if (key !== undefined) event.id = repeated.has(key) ? `${key}-${i}` : key;
    else event.id = `${mapping.ref}-${digest.slice(0, 32)}${several ? `-${i}` : ""}`;
    assigned.add(i);
  });
  return assigned;
}
