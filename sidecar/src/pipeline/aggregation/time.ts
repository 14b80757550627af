/**
 * Time windows of aggregations: fixed windows aligned to the clock (`5m` windows start at :00,
 * :05...) and shifts (`["06:00", "14:00", "22:00"]` in the site's time zone, so a shift change
 * at 06:00 local stays at 06:00 across daylight saving time).
 */

export type WindowSpec =
  { kind: "fixed"; ms: number } | { kind: "shift"; shifts: number[]; timezone: string };

export interface Window {
  start: number;
  end: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `"90s"`, `"15m"`, `"1h"`, `"500ms"`, or a number of seconds. Throws on anything else. */
export function parseDuration(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0)
    return Math.round(value * 1000);
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value) : null;
  if (!m)
    throw new Error(`${what}: ${JSON.stringify(value)} is not a duration like "60s", "15m", "1h"`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** `"06:00"` → minutes after midnight. */
export function parseClock(value: unknown, what: string): number {
  const m = typeof value === "string" ? /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value.trim()) : null;
  if (!m) throw new Error(`${what}: ${JSON.stringify(value)} is not a time of day like "06:00"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return timezone;
  } catch {
    throw new Error(`${JSON.stringify(timezone)} is not an IANA time zone`);
  }
}

/** The window holding instant `t`. */
export function windowOf(spec: WindowSpec, t: number): Window {
  if (spec.kind === "fixed") {
    const start = Math.floor(t / spec.ms) * spec.ms;
    return { start, end: start + spec.ms };
  }
  const bounds = shiftBoundaries(spec, t - 2 * 86_400_000, t + 2 * 86_400_000);
  let start = bounds[0]!;
  let end = bounds[bounds.length - 1]!;
  for (const b of bounds) {
    if (b <= t) start = b;
    else {
      end = b;
      break;
    }
  }
  return { start, end };
}

/** Shift changes strictly after `from` and at or before `to`, in order. */
export function shiftBoundaries(
  spec: { shifts: number[]; timezone: string },
  from: number,
  to: number,
): number[] {
  const out: number[] = [];
  const first = localDate(from - 86_400_000, spec.timezone);
  const last = localDate(to + 86_400_000, spec.timezone);
  for (let day = Date.UTC(first.y, first.m - 1, first.d); ; day += 86_400_000) {
    const d = new Date(day);
    for (const minutes of spec.shifts) {
      const b = fromLocal(
        d.getUTCFullYear(),
        d.getUTCMonth() + 1,
        d.getUTCDate(),
        minutes,
        spec.timezone,
      );
      if (b > from && b <= to) out.push(b);
    }
    if (day >= Date.UTC(last.y, last.m - 1, last.d)) break;
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Cuts `[start, end)` at every shift change between them. */
export function splitAtShifts(
  spec: { shifts: number[]; timezone: string },
  start: number,
  end: number,
): Window[] {
  const cuts = shiftBoundaries(spec, start, end).filter((b) => b < end);
  const points = [start, ...cuts, end];
  return points.slice(0, -1).map((s, i) => ({ start: s, end: points[i + 1]! }));
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(t: number, timezone: string) {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timezone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t)))
    if (part.type !== "literal") p[part.type] = Number(part.value);
  return p as {
    year: number;
    month: number;
    day: number;
    hour: number;
    minute: number;
    second: number;
  };
}

function localDate(t: number, timezone: string) {
  const p = parts(t, timezone);
  return { y: p.year, m: p.month, d: p.day };
}

/** Offset of the zone from UTC at instant `t`, in ms. */
function offsetAt(t: number, timezone: string): number {
  const p = parts(t, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * The instant of a local wall-clock time. In the hour skipped by a spring-forward change it
 * gives the instant just after the gap; in the hour repeated in autumn, the first one.
 */
function fromLocal(y: number, m: number, d: number, minutes: number, timezone: string): number {
  const wall = Date.UTC(y, m - 1, d) + minutes * 60_000;
  let t = wall - offsetAt(wall, timezone);
  t = wall - offsetAt(t, timezone);
  const earlier = wall - offsetAt(t - 3_600_000, timezone);
  if (earlier < t && offsetAt(earlier, timezone) === wall - earlier) return earlier;
  return t;
}
