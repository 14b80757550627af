/**
 * The `aggregation` of a mapping (a JSON object configured in Odoo), checked once when the
 * mapping is loaded. The mapping's expression still produces canonical-looking events; the
 * aggregation says how a stream of them becomes the few events Odoo should see:
 *
 * - `counter` (production, scrap, consumption): `{"kind": "counter", "window": "15m" | "shift",
 *   "mode": "cumulative" | "delta", "value": "quantity", "series": "attributes.counter",
 *   "rollover": 65536}` — per window, one event with the quantity counted in it. `cumulative`
 *   readings (a PLC's running total) count their increase, with resets and rollover detected;
 *   `delta` readings count as they are.
 * - `state` (machine_status): `{"kind": "state", "down": ["down", "setup"], "reason":
 *   "availability", "minDuration": "30s", "split": "shift", "emitStatus": true}` — downtime
 *   intervals, closed on a change of state, cut at shift changes; status events only on change.
 * - `telemetry` (quality): `{"kind": "telemetry", "window": "5m", "value": "value", "low": 10,
 *   "high": 80}` — per window one summary (average, min, max, count; fail when out of limits).
 *
 * Readings are grouped by all their other fields (attributes included): each group has its own
 * windows, counter and state, and what is posted carries the group's fields.
 *
 * Common: `shifts` (`["06:00", "14:00", "22:00"]`), `timezone` (IANA, default the site's),
 * `lateness` (how long a window waits for late readings before it closes, default `"5s"`).
 */
import type { EventType } from "../../canonical/schema.js";
import { checkTimezone, parseClock, parseDuration, type WindowSpec } from "./time.js";

interface Common {
  /** How long after its end a window still waits for readings. */
  latenessMs: number;
}

export interface CounterSpec extends Common {
  kind: "counter";
  window: WindowSpec;
  mode: "cumulative" | "delta";
  /** The event field holding the reading. */
  value: string;
  /** Dotted path of the field naming one physical counter; default: the event's other fields. */
  series?: string;
  /** A cumulative counter wraps to 0 after `rollover - 1`. */
  rollover?: number;
}

export interface StateSpec extends Common {
  kind: "state";
  down: string[];
  /** Loss reason when the machine gave none. */
  reason: string;
  minDurationMs: number;
  /** Shift changes that cut downtime intervals (none: only state changes close them). */
  shifts?: { shifts: number[]; timezone: string };
  /** Post `machine_status` events when the state changes (never repeats). */
  emitStatus: boolean;
}

export interface TelemetrySpec extends Common {
  kind: "telemetry";
  window: WindowSpec;
  value: string;
  low?: number;
  high?: number;
}

export type AggregationSpec = CounterSpec | StateSpec | TelemetrySpec;

const DEFAULT_KIND: Partial<Record<EventType, AggregationSpec["kind"]>> = {
  production: "counter",
  scrap: "counter",
  consumption: "counter",
  machine_status: "state",
  quality: "telemetry",
};

const KEYS: Record<AggregationSpec["kind"], string[]> = {
  counter: ["kind", "window", "mode", "fn", "value", "series", "rollover"],
  state: ["kind", "down", "reason", "minDuration", "split", "emitStatus"],
  telemetry: ["kind", "window", "value", "low", "high"],
};
const COMMON = ["shifts", "timezone", "lateness"];

/**
 * Checks an aggregation object; `undefined` when there is none (`null`, `{}`). Throws an Error
 * whose message says what is wrong.
 */
export function parseAggregation(
  raw: unknown,
  eventType: EventType,
  siteTimezone: string | undefined,
): AggregationSpec | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error("must be a JSON object");
  const o = raw as Record<string, unknown>;
  if (Object.keys(o).length === 0) return undefined;
  const kind = (o.kind ?? DEFAULT_KIND[eventType]) as AggregationSpec["kind"] | undefined;
  if (kind === undefined || !(kind in KEYS))
    throw new Error(
      `kind must be "counter", "state" or "telemetry" (got ${JSON.stringify(o.kind)})`,
    );
  const unknown = Object.keys(o).filter((k) => !KEYS[kind].includes(k) && !COMMON.includes(k));
  if (unknown.length)
    throw new Error(`unknown key(s) for a ${kind} aggregation: ${unknown.join(", ")}`);

  const timezone = checkTimezone(
    typeof o.timezone === "string" ? o.timezone : (siteTimezone ?? "UTC"),
  );
  const shifts =
    o.shifts === undefined
      ? undefined
      : Array.isArray(o.shifts) && o.shifts.length > 0 && o.shifts.length <= 24
        ? [...new Set(o.shifts.map((s, i) => parseClock(s, `shifts[${i}]`)))].sort((a, b) => a - b)
        : (() => {
            throw new Error('shifts must be a list of times of day, e.g. ["06:00", "14:00"]');
          })();
  const latenessMs = o.lateness === undefined ? 5000 : parseDuration(o.lateness, "lateness");
  const window = (): WindowSpec => {
    if (o.window === "shift") {
      if (!shifts)
        throw new Error('window "shift" needs "shifts", e.g. ["06:00", "14:00", "22:00"]');
      return { kind: "shift", shifts, timezone };
    }
    const ms = parseDuration(o.window ?? "5m", "window");
    if (ms < 1000 || ms > 31 * 86_400_000) throw new Error("window must be between 1s and 31d");
    return { kind: "fixed", ms };
  };
  const field = (key: string, fallback: string): string => {
    const v = o[key] ?? fallback;
    if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
      throw new Error(`${key} must be the name of an event field`);
    return v;
  };
  const limit = (key: string): number | undefined => {
    if (o[key] === undefined) return undefined;
    if (typeof o[key] !== "number" || !Number.isFinite(o[key]))
      throw new Error(`${key} must be a number`);
    return o[key];
  };

  switch (kind) {
    case "counter": {
      const mode = o.mode ?? (o.fn === "sum" ? "delta" : "cumulative");
      if (mode !== "cumulative" && mode !== "delta")
        throw new Error('mode must be "cumulative" (a running total) or "delta" (counts)');
      if (o.series !== undefined && (typeof o.series !== "string" || !/^[\w.]+$/.test(o.series)))
        throw new Error("series must be a dotted field path, e.g. attributes.counter");
      const rollover = limit("rollover");
      if (rollover !== undefined && rollover <= 0) throw new Error("rollover must be positive");
      return {
        kind,
        window: window(),
        mode,
        value: field("value", "quantity"),
        latenessMs,
        ...(typeof o.series === "string" && { series: o.series }),
        ...(rollover !== undefined && { rollover }),
      };
    }
    case "state": {
      const down = o.down ?? ["down"];
      if (!Array.isArray(down) || !down.every((s) => typeof s === "string"))
        throw new Error('down must be a list of machine states, e.g. ["down", "setup"]');
      const split = o.split ?? (shifts ? "shift" : "none");
      if (split !== "shift" && split !== "none") throw new Error('split must be "shift" or "none"');
      if (split === "shift" && !shifts) throw new Error('split "shift" needs "shifts"');
      if (o.reason !== undefined && (typeof o.reason !== "string" || !o.reason))
        throw new Error("reason must be a loss reason name or a loss type");
      return {
        kind,
        down,
        reason: (o.reason as string | undefined) ?? "availability",
        minDurationMs:
          o.minDuration === undefined ? 0 : parseDuration(o.minDuration, "minDuration"),
        emitStatus: o.emitStatus === undefined ? true : o.emitStatus === true,
        latenessMs,
        ...(split === "shift" && shifts && { shifts: { shifts, timezone } }),
      };
    }
    case "telemetry":
      return {
        kind,
        window: window(),
        value: field("value", "value"),
        latenessMs,
        ...(limit("low") !== undefined && { low: limit("low")! }),
        ...(limit("high") !== undefined && { high: limit("high")! }),
      };
  }
}
