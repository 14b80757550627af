/**
 * Cron expressions of schedules (node-cron syntax: 5 fields, or 6 with seconds first) and their
 * time zone. Odoo checks the syntax when a schedule is saved; the sidecar checks again with the
 * library that runs it, so a schedule it cannot run is reported, not silently ignored.
 */
import cron from "node-cron";

/** What is wrong with a schedule's timing, or undefined when it can run. */
export function checkTiming(expression: string, timezone: string): string | undefined {
  if (typeof expression !== "string" || expression.trim() === "")
    return "the cron expression is empty";
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    return `a cron expression has 5 fields (or 6 with seconds), got ${fields.length}`;
  const detail = cron.validateDetailed(expression.trim());
  if (!detail.valid)
    return `invalid cron expression ${JSON.stringify(expression)}: ${detail.errors
      .map((e) => `${e.field} ${e.message}`)
      .join("; ")}`;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    return `unknown time zone ${JSON.stringify(timezone)}`;
  }
  return undefined;
}
