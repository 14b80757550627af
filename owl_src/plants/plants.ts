import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { parseServerDatetime, toServerDatetime } from "../core/dates.js";
import { formatAge, formatDuration, formatNumber, formatPercent } from "../core/format.js";
import { _t } from "../core/l10n.js";
import { openRecord, openTrace } from "../core/navigation.js";
import { useService, type ActionService, type Domain, type ORM } from "../core/services.js";

export const PLANT_WINDOWS = [
  { key: "24h", ms: 24 * 3_600_000, granularity: "hour" },
  { key: "7d", ms: 7 * 24 * 3_600_000, granularity: "day" },
  { key: "30d", ms: 30 * 24 * 3_600_000, granularity: "day" },
] as const;
export type PlantWindowKey = (typeof PLANT_WINDOWS)[number]["key"];

/** One error code of a plant with its count per bucket (`plant_bridge.site.read_plants_overview`). */
export interface ErrorSeries {
  code: string;
  counts: number[];
}

/** One plant in the window, as Odoo aggregated it for the current user. */
export interface PlantRow {
  id: number;
  name: string;
  code: string;
  timezone: string;
  received: number;
  applied: number;
  rejected: number;
  /** Applied events per hour over the window. */
  throughput: number;
  failure_rate: number;
  latency_p95: number;
  /** Age (s) of the oldest event not yet posted, at each sidecar's last heartbeat (the worst). */
  lag: number;
  worst_lag: number;
  outbox_depth: number;
  last_at: string | false;
  sidecars: number;
  sidecars_stale: number;
  open_exceptions: number;
  /** Messages that failed in the window (rejected, then possibly discarded). */
  failed: number;
  top_errors: { code: string; count: number }[];
  errors_over_time: ErrorSeries[];
}

export interface PlantsOverview {
  granularity: "hour" | "day";
  /** Bucket labels in the user's time zone: "YYYY-MM-DD" or "YYYY-MM-DD HH:00". */
  buckets: string[];
  sites: PlantRow[];
  total: {
    sites: number;
    received: number;
    applied: number;
    rejected: number;
    throughput: number;
    failure_rate: number;
    lag: number;
    open_exceptions: number;
    sidecars: number;
    sidecars_stale: number;
  };
}

/** A heatmap cell: how dark, from the count and the largest count of the row. */
export function cellLevel(count: number, max: number): number {
  if (!count || !max) return 0;
  return Math.max(1, Math.ceil((count / max) * 4));
}

/**
 * Every plant the user may see on one screen: managers compare their plants (throughput,
 * failure rate, lag, open exceptions and each plant's own error pattern over time); a plant
 * user sees their plant only (Odoo's record rules, the figures aggregated in Odoo).
 */
export class Plants extends Component {
  static override template = "plant_bridge.Plants";
  static components = { Layout };
  static override props = { ...standardActionServiceProps };

  orm!: ORM;
  action!: ActionService;
  windows = PLANT_WINDOWS;
  state = useState({
    window: "7d" as PlantWindowKey,
    loading: false,
    overview: null as PlantsOverview | null,
    now: 0,
  });

  override setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    onWillStart(() => this.load());
  }

  get windowSpec() {
    return PLANT_WINDOWS.find((w) => w.key === this.state.window)!;
  }

  async load() {
    this.state.loading = true;
    try {
      const now = Date.now();
      const spec = this.windowSpec;
      this.state.overview = await this.orm.call<PlantsOverview>(
        "plant_bridge.site",
        "read_plants_overview",
        [new Date(now - spec.ms).toISOString(), new Date(now).toISOString(), spec.granularity],
      );
      this.state.now = now;
    } finally {
      this.state.loading = false;
    }
  }

  async setWindow(key: PlantWindowKey) {
    this.state.window = key;
    await this.load();
  }

  openPlant(plant: PlantRow) {
    return openRecord(this.action, "plant_bridge.site", plant.id);
  }

  openExceptions(plant: PlantRow) {
    return this.action.doAction("plant_bridge.action_exception_queue", {
      additionalContext: { plant_bridge_site_id: plant.id },
    });
  }

  /** The failed messages of one plant and code in the window. */
  openErrors(plant: PlantRow, code: string) {
    const since = toServerDatetime(this.state.now - this.windowSpec.ms);
    const domain: Domain = [
      ["site_id", "=", plant.id],
      ["error_code", "=", code],
      ["state", "in", ["rejected", "discarded"]],
      ["create_date", ">=", since],
    ];
    return openTrace(this.action, domain, _t("%(plant)s: %(code)s", { plant: plant.name, code }));
  }

  // ------------------------------------------------------------------ view helpers

  maxOf(series: ErrorSeries): number {
    return Math.max(0, ...series.counts);
  }

  cellClass(count: number, series: ErrorSeries): string {
    return `o_pb_cell o_pb_cell_${cellLevel(count, this.maxOf(series))}`;
  }

  cellTitle(index: number, count: number): string {
    const label = this.state.overview?.buckets[index] ?? "";
    return _t("%(bucket)s: %(count)s failed", { bucket: label, count });
  }

  lastSeen(plant: PlantRow): string {
    return plant.last_at
      ? formatAge(parseServerDatetime(plant.last_at), this.state.now)
      : _t("no heartbeat in this window");
  }

  get firstBucket(): string {
    return this.state.overview?.buckets[0] ?? "";
  }

  get lastBucket(): string {
    const buckets = this.state.overview?.buckets ?? [];
    return buckets[buckets.length - 1] ?? "";
  }

  formatNumber = formatNumber;
  formatPercent = formatPercent;
  formatDuration = formatDuration;
}

registry.category("actions").add("plant_bridge.plants", Plants);
