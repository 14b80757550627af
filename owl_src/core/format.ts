import { _t } from "./l10n.js";
import { userLocale } from "./dates.js";

export function formatNumber(value: number, maximumFractionDigits = 0): string {
  return new Intl.NumberFormat(userLocale(), { maximumFractionDigits }).format(value);
}

export function formatPercent(ratio: number): string {
  return new Intl.NumberFormat(userLocale(), {
    style: "percent",
    maximumFractionDigits: ratio > 0 && ratio < 0.1 ? 1 : 0,
  }).format(ratio);
}

/** A duration in seconds, the way an operator reads it: "850 ms", "12.5 s", "4 min", "3 h 5 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return _t("0 s");
  if (seconds < 1) return _t("%s ms", formatNumber(seconds * 1000));
  if (seconds < 60) return _t("%s s", formatNumber(seconds, seconds < 10 ? 1 : 0));
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return _t("%s min", formatNumber(minutes));
  const hours = Math.floor(minutes / 60);
  return _t("%(hours)s h %(minutes)s min", { hours, minutes: minutes % 60 });
}

/** "3 min ago" style age of a timestamp (ms), for heartbeats. */
export function formatAge(ms: number | null, now: number): string {
  if (ms === null) return _t("never");
  return _t("%s ago", formatDuration(Math.max(0, (now - ms) / 1000)));
}

/** Pretty JSON when the text parses, the text itself otherwise. */
export function prettyJson(text: string | false | null | undefined): string {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
