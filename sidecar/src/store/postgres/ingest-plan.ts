import { eventKey, type EventItem, type RejectItem } from "../common.js";
import type { IngestItem } from "../types.js";

/**
 * An ingest call folded into one row per table key, so each table gets one multi-row
 * statement: PostgreSQL refuses `ON CONFLICT DO UPDATE` touching a row twice, and a repeat
 * within the call must answer exactly like a repeat across calls.
 */
export interface IngestPlan {
  /** First occurrence of each (site, id), in input order (seq order). */
  events: { index: number; item: EventItem; key: string }[];
  /** Later occurrences of a (site, id) in the same call: answered duplicate. */
  repeatedEvents: { index: number; key: string }[];
  /** One entry per fingerprint, with every input position that carried it. */
  rejections: { indexes: number[]; item: RejectItem; lastReceivedAt: number }[];
  sites: string[];
}

/**
 * `text` maps strings the way the database will store them (see text.ts), so two inputs the
 * database cannot tell apart are folded here too.
 */
export function planIngest(
  items: IngestItem[],
  text: (value: string) => string = (value) => value,
): IngestPlan {
  const plan: IngestPlan = { events: [], repeatedEvents: [], rejections: [], sites: [] };
  const seenEvents = new Set<string>();
  const rejectionOf = new Map<string, IngestPlan["rejections"][number]>();
  const sites = new Set<string>();
  items.forEach((item, index) => {
    if (item.kind === "event") {
      sites.add(text(item.event.site));
      const key = eventKey(text(item.event.site), text(item.event.id));
      if (seenEvents.has(key)) {
        plan.repeatedEvents.push({ index, key });
      } else {
        seenEvents.add(key);
        plan.events.push({ index, item, key });
      }
      return;
    }
    sites.add(text(item.rejection.site));
    const fingerprint = text(item.rejection.fingerprint);
    const existing = rejectionOf.get(fingerprint);
    if (existing) {
      existing.indexes.push(index);
      existing.lastReceivedAt = Math.max(existing.lastReceivedAt, item.receivedAt);
    } else {
      const entry = { indexes: [index], item, lastReceivedAt: item.receivedAt };
      rejectionOf.set(fingerprint, entry);
      plan.rejections.push(entry);
    }
  });
  plan.sites = [...sites];
  return plan;
}
