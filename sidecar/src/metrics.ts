import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The Prometheus metrics of the contract (ARCHITECTURE.md "More of the contract"). One registry
 * per sidecar instance (no global state), so tests can run several sidecars in one process.
 */
export interface Metrics {
  registry: Registry;
  received: Counter<"site" | "source">;
  applied: Counter<"site" | "type">;
  duplicate: Counter<"site">;
  rejected: Counter<"site" | "code">;
  outboxPending: Gauge<"site">;
  deadLetters: Gauge<"site">;
  oldestPendingSeconds: Gauge<"site">;
  lanePending: Gauge<"site" | "lane">;
  laneLagSeconds: Gauge<"site" | "lane">;
  odooUp: Gauge;
  postLatency: Histogram;
  postBatches: Counter<"result">;
  storeFailures: Counter;
  deadLettersEvicted: Counter<"site" | "code">;
  ingestHeld: Counter<"route">;
  streamsDropped: Counter<"reason">;
  ingestOwner: Gauge<"group">;
  ingestRoleChanges: Counter<"group" | "role">;
  leasesReclaimed: Counter;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "plant_bridge_process_" });
  const registers = [registry];
  return {
    registry,
    received: new Counter({
      name: "plant_bridge_events_received_total",
      help: "Inputs received, by site and source (accepted, duplicate or rejected).",
      labelNames: ["site", "source"],
      registers,
    }),
    applied: new Counter({
      name: "plant_bridge_events_applied_total",
      help: "Events applied in Odoo, by site and event type.",
      labelNames: ["site", "type"],
      registers,
    }),
    duplicate: new Counter({
      name: "plant_bridge_events_duplicate_total",
      help: "Events received again with a known (site, id), not stored or posted twice.",
      labelNames: ["site"],
      registers,
    }),
    rejected: new Counter({
      name: "plant_bridge_events_rejected_total",
      help: "Inputs rejected, by site and stable error code (each kept as a dead letter).",
      labelNames: ["site", "code"],
      registers,
    }),
    outboxPending: new Gauge({
      name: "plant_bridge_outbox_pending",
      help: "Events stored and not yet settled in Odoo.",
      labelNames: ["site"],
      registers,
    }),
    deadLetters: new Gauge({
      name: "plant_bridge_dead_letters",
      help: "Open dead letters waiting for a fix and a replay.",
      labelNames: ["site"],
      registers,
    }),
    oldestPendingSeconds: new Gauge({
      name: "plant_bridge_oldest_pending_seconds",
      help: "Age of the oldest event not yet settled in Odoo (sync lag).",
      labelNames: ["site"],
      registers,
    }),
    lanePending: new Gauge({
      name: "plant_bridge_lane_pending",
      help: "Events not yet settled in Odoo, per posting lane (critical, bulk).",
      labelNames: ["site", "lane"],
      registers,
    }),
    laneLagSeconds: new Gauge({
      name: "plant_bridge_lane_lag_seconds",
      help: "Age of the oldest event not yet settled in Odoo, per posting lane (critical, bulk).",
      labelNames: ["site", "lane"],
      registers,
    }),
    odooUp: new Gauge({
      name: "plant_bridge_odoo_up",
      help: "1 when the last call to Odoo succeeded, 0 when Odoo is unreachable or not configured.",
      registers,
    }),
    storeFailures: new Counter({
      name: "plant_bridge_store_failures_total",
      help: "Store commits that failed (disk full, database unreachable): input is held back meanwhile.",
      registers,
    }),
    deadLettersEvicted: new Counter({
      name: "plant_bridge_dead_letters_evicted_total",
      help: "Open dead letters deleted, oldest first, beyond PLANT_BRIDGE_DEAD_LETTER_BUDGET per site and code.",
      labelNames: ["site", "code"],
      registers,
    }),
    ingestHeld: new Counter({
      name: "plant_bridge_ingest_held_total",
      help: "Messages not acknowledged because the store failed (they come again from their source).",
      labelNames: ["route"],
      registers,
    }),
    streamsDropped: new Counter({
      name: "plant_bridge_api_streams_dropped_total",
      help: "Subscription streams the API closed, by reason (slow_consumer: it fell behind by more than the stream buffer).",
      labelNames: ["reason"],
      registers,
    }),
    ingestOwner: new Gauge({
      name: "plant_bridge_ingest_owner",
      help: "1 while this sidecar owns its ingest (connected to the broker), 0 while it is a standby of its ingest group.",
      labelNames: ["group"],
      registers,
    }),
    ingestRoleChanges: new Counter({
      name: "plant_bridge_ingest_role_changes_total",
      help: "Times this sidecar became the ingest owner (took over) or a standby (stepped down, fenced), by role entered.",
      labelNames: ["group", "role"],
      registers,
    }),
    leasesReclaimed: new Counter({
      name: "plant_bridge_leases_reclaimed_total",
      help: "Outbox events whose lease belonged to a dead sidecar and were taken over before the lease ran out.",
      registers,
    }),
    postLatency: new Histogram({
      name: "plant_bridge_post_latency_seconds",
      help: "Time from receipt by the sidecar to applied in Odoo.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
      registers,
    }),
    postBatches: new Counter({
      name: "plant_bridge_post_batches_total",
      help: "Posting calls to Odoo, by result (ok, transient, config, unexpected).",
      labelNames: ["result"],
      registers,
    }),
  };
}
