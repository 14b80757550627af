/**
 * Timestamps as plants write them: ISO-8601 with an offset, epoch milliseconds, and what legacy
 * systems write — no offset (local plant time), a space instead of `T`, a `+01` offset
 * (PostgreSQL's text form), driver `Date`s. Every date-time field of a canonical event accepts the
 * same forms, whatever the ingress (ARCHITECTURE.md, contract additions).
 */

/** The largest epoch milliseconds a `Date` holds. */
const MAX_EPOCH_MS = 8.64e15;

/** Epoch milliseconds as ISO-8601 (UTC), or the value unchanged when it is no such number. */
export function fromEpochMs(value: unknown): unknown {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH_MS
    ? new Date(value).toISOString()
    : value;
}

const ZONED =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/**
 * An ISO-8601 timestamp with an offset, or the value unchanged when it is not a timestamp (the
 * canonical validator then rejects it with its own message). Naive local times are read in
 * `timezone` (an IANA name); numbers are epoch milliseconds.
 */
export function toIsoTimestamp(value: unknown, timezone: string): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? value : value.toISOString();
  if (typeof value === "number") return fromEpochMs(value);
  if (typeof value !== "string") return value;
  const text = value.trim();
  const zoned = ZONED.exec(text);
  if (zoned) {
    const [, date, time, offset] = zoned;
    const withSeconds = time!.length === 5 ? `${time}:00` : time!;
    return `${date}T${withSeconds}${normalizeOffset(offset!)}`;
  }
  const naive = NAIVE.exec(text);
  if (!naive) return value;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = ""] = naive;
  const ms = Number(frac.padEnd(3, "0").slice(0, 3));
  const local = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    ms,
  );
  if (Number.isNaN(local)) return value;
  let offset: number;
  try {
    offset = zoneOffsetAt(local, timezone);
  } catch {
    return value;
  }
  const fraction = frac ? `.${frac}` : "";
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${formatOffset(offset)}`;
}

function normalizeOffset(offset: string): string {
  if (offset.toUpperCase() === "Z") return "Z";
  const m = /^([+-]\d{2}):?(\d{2})?$/.exec(offset)!;
  return `${m[1]}:${m[2] ?? "00"}`;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC of `timezone` at the UTC instant `utcMs`. */
export function offsetOf(utcMs: number, timezone: string): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(utcMs).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/**
 * The offset in minutes that applies to a local wall-clock time (given as if it were UTC) in
 * `timezone`. In the hour skipped by a spring-forward change the earlier offset is taken; in
 * the repeated autumn hour, the first occurrence.
 */
export function zoneOffsetAt(localAsUtc: number, timezone: string): number {
  // Offsets change on quarter hours (every zone since 1970): one answer per quarter hour and
  // zone, instead of three Intl calls per row (the first cost of a large legacy import).
  const cacheKey = `${timezone}\0${Math.floor(localAsUtc / QUARTER_HOUR)}`;
  const cached = offsets.get(cacheKey);
  if (cached !== undefined) return cached;
  const offset = computeZoneOffsetAt(localAsUtc, timezone);
  if (offsets.size >= 50_000) offsets.clear();
  offsets.set(cacheKey, offset);
  return offset;
}

const QUARTER_HOUR = 15 * 60_000;
const offsets = new Map<string, number>();

function computeZoneOffsetAt(localAsUtc: number, timezone: string): number {
  const first = offsetOf(localAsUtc, timezone);
  const second = offsetOf(localAsUtc - first * 60_000, timezone);
  if (first === second) return first;
  const third = offsetOf(localAsUtc - second * 60_000, timezone);
  return third === second ? second : Math.max(first, second);
}

/** Whether `timezone` is an IANA time zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}
