import type { EventType } from "./schema.js";

/**
 * Posting lanes. Business-critical transactions (production, consumption, scrap, quality holds,
 * work order and labor records, downtime, maintenance) go to Odoo ahead of bulk (machine states
 * and the telemetry summaries they carry), so a backlog of bulk never stands between a
 * production event and Odoo: the store leases the critical lane first (README "Priority lanes").
 */
export const LANES = ["critical", "bulk"] as const;

export type Lane = (typeof LANES)[number];

/** Event types of the bulk lane; every other type is critical. */
export const BULK_TYPES: readonly EventType[] = ["machine_status"];

export function laneOf(type: EventType): Lane {
  return BULK_TYPES.includes(type) ? "bulk" : "critical";
}
