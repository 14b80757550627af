/**
 * @jest-environment jsdom
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { registry } from "@web/core/registry";
import {
  Plants,
  cellLevel,
  type PlantRow,
  type PlantsOverview,
} from "../../owl_src/plants/plants.js";
import {
  all,
  click,
  createAction,
  createOrm,
  mountScreen,
  serverTime,
  text,
  type Call,
  type Mounted,
} from "./helpers.js";

const HOUR = 3_600_000;

function plant(over: Partial<PlantRow>): PlantRow {
  return {
    id: 1,
    name: "North",
    code: "north",
    timezone: "Europe/Paris",
    received: 0,
    applied: 0,
    rejected: 0,
    throughput: 0,
    failure_rate: 0,
    latency_p95: 0,
    lag: 0,
    worst_lag: 0,
    outbox_depth: 0,
    last_at: serverTime(Date.now() - 60_000),
    sidecars: 1,
    sidecars_stale: 0,
    open_exceptions: 0,
    failed: 0,
    top_errors: [],
    errors_over_time: [],
    ...over,
  };
}

const OVERVIEW: PlantsOverview = {
  granularity: "day",
  buckets: ["2026-11-27", "2026-11-28", "2026-11-29"],
  sites: [
    plant({
      applied: 900,
      rejected: 100,
      throughput: 5.4,
      failure_rate: 0.1,
      lag: 90,
      worst_lag: 300,
      open_exceptions: 7,
      top_errors: [
        { code: "unknown_product", count: 8 },
        { code: "schema", count: 2 },
      ],
      errors_over_time: [
        { code: "unknown_product", counts: [0, 2, 6] },
        { code: "schema", counts: [2, 0, 0] },
      ],
    }),
    plant({ id: 2, name: "South", code: "south", applied: 40, sidecars: 2, sidecars_stale: 1 }),
  ],
  total: {
    sites: 2,
    received: 1040,
    applied: 940,
    rejected: 100,
    throughput: 5.6,
    failure_rate: 100 / 1040,
    lag: 90,
    open_exceptions: 7,
    sidecars: 3,
    sidecars_stale: 1,
  },
};

describe("Plants", () => {
  let mounted: Mounted<Plants> | undefined;
  afterEach(() => mounted?.destroy());

  async function mountPlants(overview: PlantsOverview = OVERVIEW) {
    const orm = createOrm((call: Call) => {
      if (`${call.model}.${call.method}` === "plant_bridge.site.call:read_plants_overview")
        return overview;
      throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
    });
    const action = createAction();
    mounted = await mountScreen(Plants, { services: { orm, action } });
    return { orm, action, target: mounted.target };
  }

  test("is the registered client action plant_bridge.plants", () => {
    expect(registry.category("actions").get("plant_bridge.plants")).toBe(Plants);
  });

  test("asks Odoo for the aggregated overview of the window, by day for 7 days", async () => {
    const { orm, target } = await mountPlants();
    const [call] = orm.of("call:read_plants_overview", "plant_bridge.site");
    const [[from, to, granularity]] = call!.args as [[string, string, string]];
    expect(Date.parse(to) - Date.parse(from)).toBe(7 * 24 * HOUR);
    expect(granularity).toBe("day");
    await click(all(target, ".o_pb_window").find((b) => text(b) === "24h"));
    const last = orm.of("call:read_plants_overview", "plant_bridge.site").at(-1)!;
    const [[from24, to24, hourly]] = last.args as [[string, string, string]];
    expect(Date.parse(to24) - Date.parse(from24)).toBe(24 * HOUR);
    expect(hourly).toBe("hour");
  });

  test("one row per plant with its figures, top error codes and error pattern", async () => {
    const { target } = await mountPlants();
    const rows = all(target, ".o_pb_plant");
    expect(rows.map((r) => r.dataset.code)).toEqual(["north", "south"]);
    const north = rows[0]!;
    expect(text(north.querySelector(".o_pb_plant_failure_rate"))).toMatch(/10%.*100 of 1,000/);
    expect(text(north.querySelector(".o_pb_plant_lag"))).toMatch(/2 min.*worst 5 min/);
    expect(all(north, ".o_pb_error_code").map((b) => b.dataset.code)).toEqual([
      "unknown_product",
      "schema",
    ]);
    const pattern = all(north, ".o_pb_pattern_row")[0]!;
    expect(all(pattern, ".o_pb_cell").map((c) => c.className)).toEqual([
      "o_pb_cell o_pb_cell_0",
      "o_pb_cell o_pb_cell_2",
      "o_pb_cell o_pb_cell_4",
    ]);
    expect(all(pattern, ".o_pb_cell")[2]!.title).toBe("2026-11-29: 6 failed");
    expect(text(rows[1]!)).toContain("1 stale");
    expect(text(target.querySelector(".o_pb_total_sites"))).toBe("2");
  });

  test("an error code opens that plant's failed messages; the count its exception queue", async () => {
    const { target, action } = await mountPlants();
    const north = all(target, ".o_pb_plant")[0]!;
    await click(north.querySelector(".o_pb_error_code"));
    const trace = action.actions[0]!.action as { res_model: string; domain: unknown[][] };
    expect(trace.res_model).toBe("plant_bridge.message");
    expect(trace.domain.slice(0, 3)).toEqual([
      ["site_id", "=", 1],
      ["error_code", "=", "unknown_product"],
      ["state", "in", ["rejected", "discarded"]],
    ]);
    await click(north.querySelector(".o_pb_plant_exceptions"));
    expect(action.actions[1]).toEqual({
      action: "plant_bridge.action_exception_queue",
      options: { additionalContext: { plant_bridge_site_id: 1 } },
    });
  });

  test("a user allowed on no plant is told how to get one", async () => {
    const { target } = await mountPlants({ ...OVERVIEW, sites: [] });
    expect(target.querySelector(".o_pb_plants_table")).toBeNull();
    expect(text(target.querySelector(".o_pb_nodata"))).toContain("No plant for you here");
  });

  test("cellLevel: 0 for nothing, 1-4 relative to the row's largest count", () => {
    expect([0, 1, 2, 3, 8].map((n) => cellLevel(n, 8))).toEqual([0, 1, 1, 2, 4]);
    expect(cellLevel(3, 0)).toBe(0);
  });
});
