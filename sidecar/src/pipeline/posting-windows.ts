import type { PostingWindowConfig } from "../contracts/site-config.js";
import { laneOf } from "../canonical/lanes.js";
import type { EventType } from "../canonical/schema.js";
import { offsetOf, zoneOffsetAt } from "../canonical/time.js";

/** Why an event waits, and until when (epoch ms). */
export interface WindowWait {
  window: PostingWindowConfig;
  until: number;
}

const DAY = 86_400_000;

/**
 * Whether an event received at `receivedAt` must wait at `now`, and until when: a `hold` window
 * holds every event of its class while it runs (period close, Odoo maintenance); a `batched`
 * window holds an event until the first of its daily times at or after the event's receipt, read
 * in the site's `timezone` (a shift end at 22:00 local stays 22:00 local across daylight saving).
 * Of several windows the longest wait wins. Real time (no wait): undefined.
 */
export function windowWait(
  type: EventType,
  receivedAt: number,
  windows: readonly PostingWindowConfig[],
  timezone: string,
  now: number,
): WindowWait | undefined {
  let wait: WindowWait | undefined;
  for (const window of windows) {
    if (!appliesTo(window.event_class, type)) continue;
    const until =
      window.mode === "hold"
        ? holdEnd(window, now)
        : nextDailyTime(window.times, receivedAt, timezone);
    if (until !== undefined && until > now && (!wait || until > wait.until)) {
      wait = { window, until };
    }
  }
  return wait;
}

function appliesTo(eventClass: string, type: EventType): boolean {
  return eventClass === "all" || eventClass === type || eventClass === laneOf(type);
}

function holdEnd(window: { start: string; end: string }, now: number): number | undefined {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return start <= now && now < end ? end : undefined;
}

/** The first of the daily local `times` (HH:MM) at or after `after`, as epoch ms. */
export function nextDailyTime(
  times: readonly string[],
  after: number,
  timezone: string,
): number | undefined {
  const minutes = times
    .map((t) => /^(\d{2}):(\d{2})$/.exec(t))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (minutes.length === 0) return undefined;
  // midnight of the local day of `after`, as if local time were UTC
  const localMidnight = Math.floor((after + offsetOf(after, timezone) * 60_000) / DAY) * DAY;
  let best: number | undefined;
  for (let day = 0; day <= 1; day++) {
    for (const m of minutes) {
      const localAsUtc = localMidnight + day * DAY + m * 60_000;
      const at = localAsUtc - zoneOffsetAt(localAsUtc, timezone) * 60_000;
      if (at >= after && (best === undefined || at < best)) best = at;
    }
  }
  return best;
}
