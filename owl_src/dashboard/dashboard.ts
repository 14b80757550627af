import { Component, onWillStart, onMounted, onWillUnmount, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { registry } from "@web/core/registry";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import {
  formatClock,
  formatDatetime,
  parseServerDatetime,
  toServerDatetime,
} from "../core/dates.js";
import { formatAge, formatDuration, formatNumber, formatPercent } from "../core/format.js";
import { _t } from "../core/l10n.js";
import { openTrace } from "../core/navigation.js";
import { useService, type Domain, type ActionService, type ORM } from "../core/services.js";
import { MetricChart, type ChartSeries } from "./metric_chart.js";
import {
  SNAPSHOT_FIELDS,
  bucketize,
  sidecarHealth,
  summarize,
  type Bucket,
  type GroupSummary,
  type Health,
  type SidecarRow,
  type SnapshotRow,
} from "./metrics.js";

export const WINDOWS = [
  { key: "1h", ms: 3_600_000 },
  { key: "6h", ms: 6 * 3_600_000 },
  { key: "24h", ms: 24 * 3_600_000 },
] as const;
export type WindowKey = (typeof WINDOWS)[number]["key"];

/** Snapshots read per refresh at most (a sidecar beats every 15 s: 5,760 a day). */
export const SNAPSHOT_LIMIT = 20_000;
export const BUCKETS = 60;
/** @default 30000 */
export const REFRESH_MS = 30_000;
/** A sidecar silent this long is shown as down even before the stale cron flags it. */
export const SILENT_MS = 5 * 60_000;

const COLORS = {
  received: "#4EA7F2",
  applied: "#43C5B1",
  rejected: "#EA6175",
  p50: "#8481DD",
  p95: "#F4A261",
  outbox: "#4EA7F2",
  lag: "#EA6175",
};

/** One work center's OEE in the window: Odoo's own figures (`plant_bridge.site.read_oee`). */
export interface OeeRow {
  key: string;
  site: string;
  /** Odoo's OEE in percent (productive / all closed time logs started in the window). */
  oee: number;
  productive_time: number;
  blocked_time: number;
  /** Odoo's Performance (expected / actual work order minutes), whole percent. */
  performance: number;
  minutes: Record<"productive" | "performance" | "quality" | "availability", number>;
}

/** The last scheduled verification of the audit trail (`plant_bridge.audit.audit_status`). */
export interface AuditStatus {
  ok: boolean | null;
  checked_at: string | false;
  broken_seq: number | false;
  reason: string | false;
}

interface SidecarView {
  id: number;
  name: string;
  site: string;
  version: string;
  revision: number;
  health: Health;
  heartbeat: string;
}

/**
 * Per site and connector: throughput, posting latency, failure rate, outbox depth, sync lag,
 * sidecar health and configuration revision, with charts over the metric snapshots. Refreshes
 * itself; clicking a figure or a point opens the trace behind it.
 */
export class Dashboard extends Component {
  static override template = "plant_bridge.Dashboard";
  static components = { Layout, MetricChart };
  static override props = { ...standardActionServiceProps };

  orm!: ORM;
  action!: ActionService;
  windows = WINDOWS;
  state = useState({
    window: "1h" as WindowKey,
    selected: "" as string,
    autoRefresh: true,
    canConnect: false,
    loading: false,
    refreshedAt: 0,
    truncated: false,
    summaries: [] as GroupSummary[],
    buckets: [] as Bucket[],
    sidecars: [] as SidecarView[],
    revision: 0,
    oee: [] as OeeRow[],
    /** Set when the daily verification found the audit trail broken (managers only). */
    auditBroken: null as AuditStatus | null,
  });
  rows: SnapshotRow[] = [];
  timer: ReturnType<typeof setInterval> | undefined;

  override setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    onWillStart(async () => {
      await Promise.all([
        loadBundle("web.chartjs_lib"),
        this.load(),
        this.loadRights(),
        this.loadAudit(),
      ]);
    });
    onMounted(() => this.schedule());
    onWillUnmount(() => clearInterval(this.timer));
  }

  get windowMs(): number {
    return WINDOWS.find((w) => w.key === this.state.window)!.ms;
  }

  schedule() {
    clearInterval(this.timer);
    if (this.state.autoRefresh) this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  async refresh() {
    if (this.state.loading) return;
    await this.load();
  }

  async load() {
    this.state.loading = true;
    try {
      const now = Date.now();
      const since = toServerDatetime(now - this.windowMs);
      const [rows, sidecars, revisions, oee] = await Promise.all([
        this.orm.searchRead<SnapshotRow>(
          "plant_bridge.metric.snapshot",
          [["at", ">=", since]],
          [...SNAPSHOT_FIELDS],
          { order: "at desc, id desc", limit: SNAPSHOT_LIMIT },
        ),
        this.orm.searchRead<SidecarRow>(
          "plant_bridge.sidecar",
          [],
          ["name", "site_id", "version", "last_heartbeat", "is_stale", "config_revision"],
          { order: "site_id, name" },
        ),
        this.orm.searchRead<{ id: number }>("plant_bridge.config.revision", [], ["id"], {
          order: "id desc",
          limit: 1,
        }),
        this.orm
          .call<OeeRow[]>("plant_bridge.site", "read_oee", [
            new Date(now - this.windowMs).toISOString(),
            new Date(now).toISOString(),
          ])
          .catch(() => [] as OeeRow[]),
      ]);
      // work centers that logged time in the window (Odoo's OEE counts closed time logs only)
      this.state.oee = oee.filter((r) => Object.values(r.minutes).some((m) => m > 0));
      this.rows = rows;
      this.state.truncated = rows.length >= SNAPSHOT_LIMIT;
      this.state.revision = revisions[0]?.id ?? 0;
      this.state.summaries = summarize(rows, this.windowMs);
      if (this.state.selected && !this.state.summaries.some((s) => s.key === this.state.selected)) {
        this.state.selected = "";
      }
      this.state.sidecars = sidecars.map((s) => ({
        id: s.id,
        name: s.name,
        site: s.site_id ? s.site_id[1] : "",
        version: s.version || "",
        revision: s.config_revision,
        health: sidecarHealth(s, this.state.revision, now, SILENT_MS),
        heartbeat: formatAge(parseServerDatetime(s.last_heartbeat), now),
      }));
      this.state.buckets = bucketize(this.selectedRows(), this.windowMs, now, BUCKETS);
      this.state.refreshedAt = now;
    } finally {
      this.state.loading = false;
    }
  }

  /** Whether the user may run *Connect a Sidecar* (the Plant Bridge managers). */
  async loadRights() {
    this.state.canConnect = await this.orm
      .call<boolean>("plant_bridge.sidecar.connect", "has_access", [[], "create"])
      .catch(() => false);
  }

  /** The audit trail's last verification; only managers may read it (others get no flag). */
  async loadAudit() {
    const status = await this.orm
      .call<AuditStatus>("plant_bridge.audit", "audit_status", [])
      .catch(() => null);
    this.state.auditBroken = status && status.ok === false ? status : null;
  }

  /** The *Connect a Sidecar* wizard; the new sidecar shows up here at its first heartbeat. */
  connectSidecar() {
    return this.action.doAction("plant_bridge.action_plant_bridge_sidecar_connect", {
      onClose: () => void this.refresh(),
    });
  }

  /** The *New Plant* wizard; it ends in *Connect a Sidecar* for the new site. */
  newPlant() {
    return this.action.doAction("plant_bridge.action_plant_bridge_site_onboard", {
      onClose: () => void this.refresh(),
    });
  }

  selectedRows(): SnapshotRow[] {
    const group = this.state.summaries.find((s) => s.key === this.state.selected);
    // The overview sums the site totals only: per-source rows (a `connector`) repeat part of them.
    if (!group) return this.rows.filter((r) => !r.connector);
    return this.rows.filter(
      (r) =>
        (r.site_id ? r.site_id[0] : 0) === group.siteId && (r.connector || "") === group.connector,
    );
  }

  // ------------------------------------------------------------------ user actions

  async setWindow(key: WindowKey) {
    this.state.window = key;
    await this.load();
  }

  toggleAutoRefresh() {
    this.state.autoRefresh = !this.state.autoRefresh;
    this.schedule();
  }

  select(key: string) {
    this.state.selected = this.state.selected === key ? "" : key;
    this.state.buckets = bucketize(this.selectedRows(), this.windowMs, Date.now(), BUCKETS);
  }

  /** The trace behind a figure of a card: `kind` "all" | "rejected" | "pending". */
  openGroupTrace(group: GroupSummary, kind: "all" | "rejected" | "pending") {
    if (kind === "rejected") {
      return this.action.doAction("plant_bridge.action_exception_queue", {
        additionalContext: { plant_bridge_site_id: group.siteId },
      });
    }
    const domain: Domain = [["site_id", "=", group.siteId]];
    if (kind === "pending") domain.push(["state", "in", ["received", "deferred"]]);
    else domain.push(["create_date", ">=", toServerDatetime(Date.now() - this.windowMs)]);
    return openTrace(this.action, domain, _t("Trace: %s", this.groupTitle(group)));
  }

  /** The trace of one bucket of a chart (rejected only when the rejected line was clicked). */
  openBucketTrace(index: number, seriesKey: string) {
    const bucket = this.state.buckets[index];
    if (!bucket) return;
    const domain: Domain = [
      ["create_date", ">=", toServerDatetime(bucket.start)],
      ["create_date", "<", toServerDatetime(bucket.end)],
    ];
    const group = this.state.summaries.find((s) => s.key === this.state.selected);
    if (group) domain.push(["site_id", "=", group.siteId]);
    if (seriesKey === "rejected") domain.push(["state", "=", "rejected"]);
    return openTrace(
      this.action,
      domain,
      _t("Trace %(from)s – %(to)s", {
        from: formatClock(bucket.start),
        to: formatClock(bucket.end),
      }),
    );
  }

  // ------------------------------------------------------------------ view helpers

  groupTitle(group: GroupSummary): string {
    return group.connector ? `${group.siteName} / ${group.connector}` : group.siteName;
  }

  get labels(): string[] {
    return this.state.buckets.map((b) => formatClock(b.start));
  }

  series(kind: "throughput" | "latency" | "backlog"): ChartSeries[] {
    const b = this.state.buckets;
    if (kind === "throughput") {
      return [
        {
          key: "received",
          label: _t("Received"),
          color: COLORS.received,
          data: b.map((x) => x.received),
        },
        {
          key: "applied",
          label: _t("Applied"),
          color: COLORS.applied,
          data: b.map((x) => x.applied),
        },
        {
          key: "rejected",
          label: _t("Rejected"),
          color: COLORS.rejected,
          data: b.map((x) => x.rejected),
        },
      ];
    }
    if (kind === "latency") {
      return [
        {
          key: "p50",
          label: _t("p50"),
          color: COLORS.p50,
          data: b.map((x) => round(x.latencyP50)),
        },
        {
          key: "p95",
          label: _t("p95"),
          color: COLORS.p95,
          data: b.map((x) => round(x.latencyP95)),
        },
      ];
    }
    return [
      {
        key: "outbox",
        label: _t("Outbox depth"),
        color: COLORS.outbox,
        data: b.map((x) => x.outboxDepth),
      },
      {
        key: "lag",
        label: _t("Sync lag (s)"),
        color: COLORS.lag,
        data: b.map((x) => round(x.syncLag)),
        right: true,
      },
    ];
  }

  healthClass(health: Health): string {
    return { ok: "text-bg-success", warning: "text-bg-warning", danger: "text-bg-danger" }[health];
  }

  healthLabel(health: Health): string {
    return { ok: _t("Up"), warning: _t("Config behind"), danger: _t("Down") }[health];
  }

  get refreshedLabel(): string {
    return this.state.refreshedAt ? formatClock(this.state.refreshedAt, true) : "";
  }

  formatNumber = formatNumber;
  formatPercent = formatPercent;
  formatDuration = formatDuration;
  formatDatetime = formatDatetime;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

registry.category("actions").add("plant_bridge.dashboard", Dashboard);
