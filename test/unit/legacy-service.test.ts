/**
 * The legacy service as the sidecar wires it: a site's configuration from Odoo (`configChanged`)
 * becomes running schedules and legacy sinks; runs are reported to Odoo's `report_runs` (an
 * empty run at most every 10 minutes per schedule), and a reconciliation connector calls
 * `reconcile` — here against a recording Odoo client.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import type { SiteConfig } from "../../sidecar/src/contracts/site-config.js";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../sidecar/src/config.js";
import { createLegacyService, createLegacySinksFor } from "../../sidecar/src/app/legacy.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import type { SandboxPool } from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import { legacyHarness, tempDir, type LegacyHarness } from "../helpers/legacy-harness.js";

const logger = createLogger({ level: "silent" });
let h: LegacyHarness;
let dir: string;
let calls: Array<{ method: string; kwargs: Record<string, unknown> }>;

const odoo: OdooClient = {
  protocol: () => "json2",
  version: async () => [19, 0],
  healthy: async () => true,
  async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
    calls.push({ method, kwargs });
    const answer =
      method === "reconcile"
        ? { reconciliation_id: 7, compared: 1, differences: 1 }
        : { recorded: 1 };
    return answer as T;
  },
  close: async () => undefined,
};

beforeEach(async () => {
  h = await legacyHarness();
  dir = tempDir();
  calls = [];
});
afterEach(() => h.close());

function siteConfig(): SiteConfig {
  return {
    site: "main",
    revision: 3,
    site_info: { code: "main", name: "Main", timezone: "UTC", warehouse: "WH" },
    connectors: [
      {
        id: 1,
        name: "exports",
        kind: "file_drop",
        active: true,
        params: { path: join(dir, "in"), pattern: "*.csv", stableSeconds: 0 },
        secrets: {},
      },
      {
        id: 2,
        name: "totals",
        kind: "file_drop",
        active: true,
        params: { path: join(dir, "totals"), purpose: "reconciliation", stableSeconds: 0 },
        secrets: {},
      },
      {
        id: 3,
        name: "orders out",
        kind: "sink_file",
        active: true,
        params: { path: join(dir, "out") },
        secrets: {},
      },
    ],
    mappings: [],
    schedules: [
      {
        id: 11,
        name: "exports",
        connector_id: 1,
        mapping_id: null,
        cron: "0 0 1 1 *",
        timezone: null,
        active: true,
      },
      {
        id: 12,
        name: "totals",
        connector_id: 2,
        mapping_id: null,
        cron: "0 0 1 1 *",
        timezone: null,
        active: true,
      },
    ],
    sor: {},
  };
}

describe("legacy service", () => {
  it("runs Odoo's schedules, reports runs (empty ones sparingly) and builds the site's sinks", async () => {
    const bus = new Bus();
    const config = loadConfig({ PLANT_BRIDGE_NAME: "edge-1", PLANT_BRIDGE_LEGACY_ROOTS: dir });
    const sinks = createLegacySinksFor(config, logger);
    const service = createLegacyService({
      config,
      store: h.store,
      ingestor: h.ingestor,
      check: createEventChecker(),
      pool: {} as SandboxPool,
      logger,
      bus,
      sinks,
      odoo,
    });
    await service.start();
    mkdirSync(join(dir, "in"));
    mkdirSync(join(dir, "totals"));
    bus.emit("configChanged", siteConfig());
    await new Promise((r) => setTimeout(r, 50));
    expect(service.scheduler.jobs().map((j) => j.id)).toEqual([
      "odoo:main/schedule/11",
      "odoo:main/schedule/12",
    ]);
    expect(sinks.sinks("main").map((s) => s.name)).toEqual([`file:${join(dir, "out")}`]);

    // three empty runs: one is reported
    for (let i = 0; i < 3; i++) await service.scheduler.trigger("odoo:main/schedule/11");
    writeFileSync(
      join(dir, "in", "a.csv"),
      "type,order,quantity,occurredAt\nproduction,WH/MO/00001,2,2026-11-26 08:00\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "in", "a.csv"), old, old);
    await service.scheduler.trigger("odoo:main/schedule/11");
    writeFileSync(join(dir, "totals", "t.csv"), "order,produced\nWH/MO/00001,5\n");
    utimesSync(join(dir, "totals", "t.csv"), old, old);
    await service.scheduler.trigger("odoo:main/schedule/12");
    await service.reporter.flush();

    const reconcile = calls.filter((c) => c.method === "reconcile");
    expect(reconcile).toEqual([
      {
        method: "reconcile",
        kwargs: {
          site: "main",
          key: expect.any(String),
          lines: [{ order: "WH/MO/00001", produced: 5 }],
          source: "totals",
          sidecar: "edge-1",
        },
      },
    ]);
    const runs = calls
      .filter((c) => c.method === "report_runs")
      .flatMap((c) => c.kwargs.runs as Array<Record<string, unknown>>);
    expect(runs.map((r) => [r.schedule_id, r.state, r.rows, r.accepted])).toEqual([
      [11, "done", 0, 0],
      [11, "done", 1, 1],
      [12, "done", 1, 0],
    ]);
    expect(runs[0]).toMatchObject({ sidecar: "edge-1", skipped: 0, key: expect.any(String) });
    expect(String(runs[2]!.message)).toMatch(/reconciliation #7: 1 difference/);
    await service.close();
    await sinks.close();
  });

  it("refuses Odoo's file drops and file sinks without PLANT_BRIDGE_LEGACY_ROOTS, with a coded error Odoo records", async () => {
    const bus = new Bus();
    const config = loadConfig({ PLANT_BRIDGE_NAME: "edge-1" });
    const sinks = createLegacySinksFor(config, logger);
    const service = createLegacyService({
      config,
      store: h.store,
      ingestor: h.ingestor,
      check: createEventChecker(),
      pool: {} as SandboxPool,
      logger,
      bus,
      sinks,
      odoo,
    });
    await service.start();
    mkdirSync(join(dir, "in"));
    writeFileSync(
      join(dir, "in", "a.csv"),
      "type,order,quantity,occurredAt\nproduction,WH/MO/00001,2,2026-11-26 08:00\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "in", "a.csv"), old, old);
    bus.emit("configChanged", siteConfig());
    await new Promise((r) => setTimeout(r, 50));
    await service.scheduler.trigger("odoo:main/schedule/11");
    await service.reporter.flush();
    const runs = calls
      .filter((c) => c.method === "report_runs")
      .flatMap((c) => c.kwargs.runs as Array<Record<string, unknown>>);
    expect(runs.map((r) => [r.schedule_id, r.state, r.code, r.rows])).toEqual([
      [11, "failed", "roots_required", 0],
    ]);
    expect(String(runs[0]!.message)).toMatch(/PLANT_BRIDGE_LEGACY_ROOTS/);
    expect(await h.store.listMessages({ site: "main", limit: 10 })).toEqual([]);
    // the file sink: each release to it fails with the same code (the outbound row's error)
    const [sink] = sinks.sinks("main");
    await expect(
      sink!.deliver({
        type: "order_release",
        id: "r-1",
        site: "main",
        order: "WH/MO/00001",
      } as never),
    ).rejects.toMatchObject({ code: "roots_required" });
    await service.close();
    await sinks.close();
  });
});
