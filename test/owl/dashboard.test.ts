/**
 * @jest-environment jsdom
 */
import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import { registry } from "@web/core/registry";
import { loadedBundles } from "./fakes/web/core/assets.js";
import { Dashboard, REFRESH_MS } from "../../owl_src/dashboard/dashboard.js";
import { bucketize, summarize, type SnapshotRow } from "../../owl_src/dashboard/metrics.js";
import {
  all,
  click,
  createAction,
  createOrm,
  mountScreen,
  serverTime,
  settle,
  text,
  type Call,
  type Mounted,
} from "./helpers.js";

/** Chart.js as Odoo's web.chartjs_lib defines it: a global constructor. */
class FakeChart {
  static instances: FakeChart[] = [];
  updates = 0;
  destroyed = false;
  data: { labels: string[]; datasets: { label: string; data: number[] }[] };
  constructor(
    public canvas: HTMLCanvasElement,
    public config: {
      data: FakeChart["data"];
      options: { onClick: (e: unknown, els: { index: number; datasetIndex: number }[]) => void };
    },
  ) {
    this.data = config.data;
    FakeChart.instances.push(this);
  }
  update() {
    this.updates++;
  }
  destroy() {
    this.destroyed = true;
  }
  /** The chart drawing a series of this label. */
  static withSeries(label: string): FakeChart {
    const chart = FakeChart.instances.find((c) => c.data.datasets.some((d) => d.label === label));
    if (!chart) throw new Error(`no chart draws ${label}`);
    return chart;
  }
}

const NOW = Date.now();
const MIN = 60_000;

function snapshot(over: Partial<SnapshotRow> & { minutesAgo: number }): SnapshotRow {
  const { minutesAgo, ...rest } = over;
  return {
    id: Math.floor(Math.random() * 1e9),
    at: serverTime(NOW - minutesAgo * MIN),
    site_id: [1, "Main Plant"],
    sidecar_id: [7, "edge-1"],
    connector: false,
    received: 0,
    applied: 0,
    rejected: 0,
    duplicate: 0,
    outbox_depth: 0,
    dead_letters: 0,
    oldest_pending_age: 0,
    critical_pending: 0,
    critical_lag: 0,
    bulk_pending: 0,
    bulk_lag: 0,
    held: 0,
    held_until: false,
    latency_p50: 0,
    latency_p95: 0,
    odoo_up: true,
    ...rest,
  };
}

const SNAPSHOTS = [
  snapshot({
    minutesAgo: 50,
    received: 100,
    applied: 90,
    rejected: 10,
    latency_p50: 0.2,
    latency_p95: 1,
    outbox_depth: 40,
  }),
  snapshot({
    minutesAgo: 10,
    received: 30,
    applied: 30,
    latency_p50: 0.4,
    latency_p95: 2,
    outbox_depth: 5,
    oldest_pending_age: 12,
    critical_pending: 1,
    critical_lag: 3,
    bulk_pending: 4,
    bulk_lag: 12,
    held: 2,
    held_until: serverTime(NOW + 60 * MIN),
  }),
  snapshot({
    minutesAgo: 20,
    site_id: [2, "North"],
    sidecar_id: [8, "edge-2"],
    connector: "Line 2 broker",
    received: 10,
    applied: 0,
    rejected: 10,
    odoo_up: false,
  }),
];

function handler(call: Call): unknown {
  switch (`${call.model}.${call.method}`) {
    case "plant_bridge.metric.snapshot.searchRead":
      return SNAPSHOTS;
    case "plant_bridge.sidecar.searchRead":
      return [
        {
          id: 7,
          name: "edge-1",
          site_id: [1, "Main Plant"],
          version: "0.1.0",
          last_heartbeat: serverTime(NOW - 10_000),
          is_stale: false,
          config_revision: 12,
        },
        {
          id: 8,
          name: "edge-2",
          site_id: [2, "North"],
          version: "0.1.0",
          last_heartbeat: serverTime(NOW - 10 * MIN),
          is_stale: false,
          config_revision: 12,
        },
        {
          id: 9,
          name: "edge-3",
          site_id: [2, "North"],
          version: "0.1.0",
          last_heartbeat: serverTime(NOW - 5_000),
          is_stale: false,
          config_revision: 11,
        },
      ];
    case "plant_bridge.config.revision.searchRead":
      return [{ id: 12 }];
    case "plant_bridge.sidecar.connect.call:has_access":
      return true;
    case "plant_bridge.site.call:read_oee":
      return OEE_ROWS;
    default:
      throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
  }
}

describe("metrics", () => {
  test("summarize: throughput per minute, failure rate, latency weighted by applied, gauges of the latest beat", () => {
    const [main, north] = summarize(SNAPSHOTS, 60 * MIN);
    expect(main).toMatchObject({
      siteName: "Main Plant",
      connector: "",
      received: 130,
      applied: 120,
      rejected: 10,
      throughput: 2,
      failureRate: 10 / 130,
      outboxDepth: 5,
      syncLag: 12,
      lanes: { critical: { pending: 1, lag: 3 }, bulk: { pending: 4, lag: 12 } },
      held: 2,
      heldUntil: Math.floor((NOW + 60 * MIN) / 1000) * 1000, // server datetimes have seconds
      odooUp: true,
    });
    expect(main!.latencyP50).toBeCloseTo((0.2 * 90 + 0.4 * 30) / 120);
    expect(main!.latencyP95).toBeCloseTo((1 * 90 + 2 * 30) / 120);
    expect(north).toMatchObject({
      siteName: "North",
      connector: "Line 2 broker",
      failureRate: 1,
      odooUp: false,
    });
  });

  test("bucketize: each snapshot lands in the bucket of its time, sums per bucket", () => {
    const buckets = bucketize(SNAPSHOTS, 60 * MIN, NOW, 6);
    expect(buckets.map((b) => b.received)).toEqual([100, 0, 0, 10, 30, 0]);
    expect(buckets[0]!.end - buckets[0]!.start).toBe(10 * MIN);
  });
});

const OEE_ROWS = [
  {
    key: "Assembly 1",
    site: "main",
    oee: 62.5,
    productive_time: 5,
    blocked_time: 3,
    performance: 75,
    minutes: { productive: 300, performance: 60, quality: 30, availability: 90 },
  },
  {
    key: "Drill 1",
    site: "main",
    oee: 0,
    productive_time: 0,
    blocked_time: 0,
    performance: 0,
    minutes: { productive: 0, performance: 0, quality: 0, availability: 0 },
  },
];

describe("Dashboard", () => {
  let mounted: Mounted<Dashboard> | undefined;
  beforeEach(() => {
    FakeChart.instances = [];
    (globalThis as { Chart?: unknown }).Chart = FakeChart;
  });
  afterEach(() => mounted?.destroy());

  async function mountDashboard() {
    const orm = createOrm(handler);
    const action = createAction();
    mounted = await mountScreen(Dashboard, { services: { orm, action } });
    return { orm, action, target: mounted.target };
  }

  test("is the registered client action plant_bridge.dashboard", () => {
    expect(registry.category("actions").get("plant_bridge.dashboard")).toBe(Dashboard);
  });

  test("reads the window's snapshots, the sidecars and the current revision; loads Chart.js", async () => {
    const { orm } = await mountDashboard();
    expect(loadedBundles).toContain("web.chartjs_lib");
    const [snapshots] = orm.of("searchRead", "plant_bridge.metric.snapshot");
    const [domain, fields, kwargs] = snapshots!.args as [
      unknown[][],
      string[],
      Record<string, unknown>,
    ];
    expect(domain[0]![0]).toBe("at");
    expect(domain[0]![1]).toBe(">=");
    const since = Date.parse(`${String(domain[0]![2]).replace(" ", "T")}Z`);
    expect(Math.abs(NOW - 60 * MIN - since)).toBeLessThan(60_000);
    expect(fields).toEqual(
      expect.arrayContaining([
        "applied",
        "rejected",
        "outbox_depth",
        "oldest_pending_age",
        "latency_p95",
      ]),
    );
    expect(kwargs).toMatchObject({ limit: 20000 });
    expect(orm.of("searchRead", "plant_bridge.sidecar")).toHaveLength(1);
    expect(orm.of("searchRead", "plant_bridge.config.revision")[0]!.args[2]).toMatchObject({
      order: "id desc",
      limit: 1,
    });
  });

  test("one card per site and connector with its figures", async () => {
    const { target } = await mountDashboard();
    const cards = all(target, ".o_pb_group");
    expect(cards.map((c) => text(c.querySelector(".o_pb_group_select")))).toEqual([
      "Main Plant (all connectors)",
      "North / Line 2 broker",
    ]);
    const main = cards[0]!;
    expect(text(main.querySelector(".o_pb_throughput"))).toContain("2");
    expect(text(main.querySelector(".o_pb_failures"))).toMatch(/7\.7%.*10 failed/);
    expect(text(main.querySelector(".o_pb_outbox"))).toMatch(/^5\s*outbox/);
    expect(text(main.querySelector(".o_pb_lag"))).toMatch(/12 s/);
    // per posting lane: a production event does not wait behind the machine states
    expect(text(main.querySelector(".o_pb_lanes"))).toMatch(/critical 1 · 3 s\s*bulk 4 · 12 s/);
    // events a posting window holds are waiting, not failed
    expect(text(main.querySelector(".o_pb_held"))).toMatch(
      /^2 waiting for a posting window until \S/,
    );
    expect(cards[1]!.querySelector(".o_pb_held")).toBeNull();
    expect(text(cards[1]!.querySelector(".badge"))).toBe("Odoo unreachable");
  });

  test("sidecar health: up, down when silent, config behind when on an older revision", async () => {
    const { target } = await mountDashboard();
    const rows = all(target, ".o_pb_sidecar").map((r) => [
      text(r.children[0]),
      text(r.children[2]),
    ]);
    expect(rows).toEqual([
      ["edge-1", "Up"],
      ["edge-2", "Down"],
      ["edge-3", "Config behind"],
    ]);
    expect(text(target.querySelector(".o_pb_sidecars .card-header"))).toContain(
      "configuration revision 12",
    );
  });

  test("charts over the snapshots; selecting a card narrows them to it", async () => {
    const { target } = await mountDashboard();
    expect(FakeChart.instances).toHaveLength(3);
    const throughput = FakeChart.withSeries("Received");
    expect(FakeChart.withSeries("p95").data.datasets.map((d) => d.label)).toEqual(["p50", "p95"]);
    expect(FakeChart.withSeries("Outbox depth").data.datasets.map((d) => d.label)).toEqual([
      "Outbox depth",
      "Sync lag (s)",
    ]);
    const sum = (label: string) =>
      throughput.data.datasets.find((d) => d.label === label)!.data.reduce((a, b) => a + b, 0);
    // The overview sums the site totals (no connector): the connector row (10) is part of them.
    expect(sum("Received")).toBe(130);
    expect(throughput.data.labels).toHaveLength(60);
    await click(all(target, ".o_pb_group_select")[1]);
    expect(throughput.updates).toBeGreaterThan(0);
    expect(sum("Received")).toBe(10);
    expect(sum("Rejected")).toBe(10);
  });

  test("shows Odoo's OEE of the work centers that logged time in the window", async () => {
    const { orm, target } = await mountDashboard();
    const [call] = orm.of("call:read_oee", "plant_bridge.site");
    const [[from, to]] = call!.args as [[string, string]];
    expect(Date.parse(to) - Date.parse(from)).toBe(60 * MIN);
    expect(Math.abs(Date.parse(to) - Date.now())).toBeLessThan(60_000);
    const rows = all(target, ".o_pb_oee_row");
    expect(rows.map((r) => text(r.querySelector("td")))).toEqual(["Assembly 1"]);
    expect(text(rows[0]!.querySelector(".o_pb_oee_value"))).toBe("63%");
    expect(text(rows[0])).toContain("75%");
  });

  test("Connect a Sidecar opens the wizard, for those who may run it", async () => {
    const { target, action, orm } = await mountDashboard();
    expect(orm.of("call:has_access", "plant_bridge.sidecar.connect")[0]!.args).toEqual([
      [[], "create"],
      {},
    ]);
    await click(target.querySelector(".o_pb_connect_sidecar"));
    expect(action.actions[0]).toEqual({
      action: "plant_bridge.action_plant_bridge_sidecar_connect",
      options: { onClose: expect.any(Function) },
    });
    mounted!.destroy();
    mounted = undefined;
    const denied = createOrm((call) => (call.method === "call:has_access" ? false : handler(call)));
    mounted = await mountScreen(Dashboard, { services: { orm: denied, action: createAction() } });
    expect(mounted.target.querySelector(".o_pb_connect_sidecar")).toBeNull();
    expect(mounted.target.querySelector(".o_pb_new_plant")).toBeNull();
  });

  test("New Plant opens the onboarding wizard (managers)", async () => {
    const { target, action } = await mountDashboard();
    await click(target.querySelector(".o_pb_new_plant"));
    expect(action.actions[0]).toEqual({
      action: "plant_bridge.action_plant_bridge_site_onboard",
      options: { onClose: expect.any(Function) },
    });
  });

  test("drill-down: a failure figure opens the exception queue of its site, a chart point the trace of its interval", async () => {
    const { target, action } = await mountDashboard();
    await click(all(target, ".o_pb_failures")[1]);
    expect(action.actions[0]).toEqual({
      action: "plant_bridge.action_exception_queue",
      options: { additionalContext: { plant_bridge_site_id: 2 } },
    });
    await click(all(target, ".o_pb_outbox")[0]);
    expect((action.actions[1]!.action as { domain: unknown[] }).domain).toEqual([
      ["site_id", "=", 1],
      ["state", "in", ["received", "deferred"]],
    ]);
    const chart = FakeChart.withSeries("Rejected");
    chart.config.options.onClick({}, [{ index: 59, datasetIndex: 2 }]);
    await settle();
    const trace = action.actions[2]!.action as { res_model: string; domain: unknown[][] };
    expect(trace.res_model).toBe("plant_bridge.message");
    expect(trace.domain.map((d) => `${String(d[0])}${String(d[1])}`)).toEqual([
      "create_date>=",
      "create_date<",
      "state=",
    ]);
    expect(trace.domain[2]).toEqual(["state", "=", "rejected"]);
  });

  test("auto-refresh reloads every 30 s until switched off; the window buttons reload at once", async () => {
    const intervals: { fn: () => void; ms: number }[] = [];
    const setIntervalSpy = jest.spyOn(globalThis, "setInterval").mockImplementation(((
      fn: () => void,
      ms: number,
    ) => {
      intervals.push({ fn, ms });
      return intervals.length as unknown as ReturnType<typeof setInterval>;
    }) as typeof setInterval);
    try {
      const { orm, target } = await mountDashboard();
      const reads = () => orm.of("searchRead", "plant_bridge.metric.snapshot").length;
      expect(reads()).toBe(1);
      expect(intervals.map((i) => i.ms)).toEqual([REFRESH_MS]);
      expect(REFRESH_MS).toBe(30_000);
      intervals[0]!.fn();
      await settle();
      expect(reads()).toBe(2);
      await click(all(target, ".o_pb_window")[1]);
      expect(reads()).toBe(3);
      const since = (
        orm.of("searchRead", "plant_bridge.metric.snapshot")[2]!.args[0] as unknown[][]
      )[0]![2];
      expect(Date.parse(`${String(since).replace(" ", "T")}Z`)).toBeLessThan(NOW - 5 * 60 * MIN);
      await click(target.querySelector(".o_pb_autorefresh"));
      expect(intervals).toHaveLength(1);
      expect(mounted!.component.state.autoRefresh).toBe(false);
    } finally {
      setIntervalSpy.mockRestore();
    }
  });

  test("destroying the screen destroys its charts and stops the refresh", async () => {
    await mountDashboard();
    const timer = mounted!.component.timer;
    expect(timer).toBeDefined();
    const clearSpy = jest.spyOn(globalThis, "clearInterval");
    try {
      mounted!.destroy();
      mounted = undefined;
      expect(FakeChart.instances).toHaveLength(3);
      expect(FakeChart.instances.every((c) => c.destroyed)).toBe(true);
      expect(clearSpy).toHaveBeenCalledWith(timer);
    } finally {
      clearSpy.mockRestore();
    }
  });
});
