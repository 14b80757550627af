/**
 * Batching and caching mechanics of the Odoo reads, counted on a stub client that answers in
 * the recorded shapes of `plant_bridge.api.read_*` (the proof that Odoo answers them is the real
 * Odoo suite, test/e2e/graphql-odoo.test.ts).
 */
import { createOdooReader } from "../../sidecar/src/api/odoo-reader.js";
import { oeeOf } from "../../sidecar/src/api/resolvers/manufacturing.js";
import { TtlCache } from "../../sidecar/src/api/ttl-cache.js";
import { createApiHarness, type ApiHarness } from "../helpers/api-harness.js";

function stubOdoo(orderCount: number) {
  const calls: Array<{ method: string; kwargs: Record<string, unknown> }> = [];
  const product = (ref: string) => ({ reference: ref, name: `Product ${ref}`, tracking: "none" });
  const names = Array.from(
    { length: orderCount },
    (_, i) => `WH/MO/${String(i + 1).padStart(5, "0")}`,
  ).reverse();
  const order = (name: string) => ({
    name,
    state: "confirmed",
    product: product("FURN_7800"),
    uom: "Units",
    quantity_planned: 3,
    quantity_produced: 0,
    quantity_producing: 0,
    quantity_scrapped: 0,
    planned_start: "2026-11-26T08:00:00+00:00",
    planned_end: null,
    deadline: null,
    origin: null,
    on_hold: false,
  });
  const workcenter = (key: string) => ({
    key,
    name: key,
    code: null,
    status: "running",
    status_since: null,
    status_at: "2026-11-26T08:00:00+00:00",
    counters: null,
    working_state: "normal",
    current_downtime: null,
    equipment: [],
    oee_target: 90,
  });
  const answers: Record<string, (kw: Record<string, unknown>) => unknown> = {
    read_orders: (kw) => {
      const filter = (kw.filter ?? {}) as { names?: string[] };
      const after = kw.after as string | undefined;
      const limit = kw.limit as number;
      const pool = names.filter(
        (n) => (!filter.names || filter.names.includes(n)) && (!after || n < after),
      );
      return { orders: pool.slice(0, limit).map(order), has_more: pool.length > limit };
    },
    read_order_details: (kw) =>
      (kw.names as string[]).map((name, i) => ({
        name,
        components: [
          {
            product: product("FURN_0269"),
            uom: "Units",
            quantity_planned: 3,
            quantity_reserved: 3,
            quantity_consumed: 0,
            state: "assigned",
            lots: [{ lot: `LOT-${i}`, quantity: 3 }],
          },
        ],
        work_orders: [
          {
            name: "Manual Assembly",
            workcenter: i % 2 ? "Assembly 1" : "Drill 1",
            state: "ready",
            sequence: 1,
            planned_start: null,
            planned_end: null,
            started_at: null,
            finished_at: null,
            duration_expected: 60,
            duration: 0,
            quantity_produced: 0,
          },
        ],
        finished_lots: [],
        quality: [],
      })),
    read_workcenters: (kw) =>
      ((kw.names as string[] | undefined) ?? ["Assembly 1", "Drill 1"]).map(workcenter),
  };
  return {
    calls,
    count: (method: string) => calls.filter((c) => c.method === method).length,
    client: {
      async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
        calls.push({ method, kwargs });
        await new Promise((r) => setTimeout(r, 1));
        return answers[method]!(kwargs) as T;
      },
    },
  };
}

const NESTED = /* GraphQL */ `
  query ($first: Int!) {
    productionOrders(first: $first) {
      edges {
        node {
          name
          components {
            product {
              reference
            }
            quantityPlanned
            lots {
              name
              quantity
            }
          }
          workOrders {
            operation
            workCenter {
              key
              status
            }
          }
        }
      }
    }
  }
`;

describe("Odoo reads behind GraphQL", () => {
  let h: ApiHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it.each([1, 5, 50])(
    "costs the same three Odoo calls for a page of %i nested orders",
    async (n) => {
      const odoo = stubOdoo(60);
      h = await createApiHarness({ reader: createOdooReader({ client: odoo.client }) });
      const r = await h.gql(NESTED, { first: n });
      expect(r.errors).toBeUndefined();
      expect(r.data.productionOrders.edges).toHaveLength(n);
      expect(r.data.productionOrders.edges[0].node.workOrders[0].workCenter.key).toMatch(/1$/);
      expect(odoo.calls.map((c) => c.method).sort()).toEqual([
        "read_order_details",
        "read_orders",
        "read_workcenters",
      ]);
      expect(odoo.calls.find((c) => c.method === "read_order_details")!.kwargs.names).toHaveLength(
        n,
      );
      // one work center call for every work order of the page, with each distinct key once
      expect(
        (odoo.calls.find((c) => c.method === "read_workcenters")!.kwargs.names as string[]).sort(),
      ).toEqual(n === 1 ? ["Drill 1"] : ["Assembly 1", "Drill 1"]);
    },
  );

  it("reuses answers for the TTL across requests, and only fetches what is missing", async () => {
    const odoo = stubOdoo(10);
    let now = 1_000_000;
    h = await createApiHarness({
      reader: createOdooReader({ client: odoo.client, ttlMs: 5000, now: () => now }),
    });
    await h.gql(NESTED, { first: 3 });
    expect(odoo.calls).toHaveLength(3);
    await h.gql(NESTED, { first: 3 });
    expect(odoo.calls).toHaveLength(3); // all cached
    await h.gql(NESTED, { first: 5 });
    // a new page is a new list call; details only for the two orders not seen yet
    expect(odoo.count("read_orders")).toBe(2);
    expect(
      odoo.calls.at(-1)!.method === "read_order_details" || odoo.count("read_order_details") === 2,
    ).toBe(true);
    const details = odoo.calls.filter((c) => c.method === "read_order_details");
    expect(details.at(-1)!.kwargs.names).toHaveLength(2);
    now += 5000;
    await h.gql(NESTED, { first: 3 });
    expect(odoo.count("read_orders")).toBe(3);
  });

  it("shares one in-flight call between concurrent requests", async () => {
    const odoo = stubOdoo(10);
    h = await createApiHarness({ reader: createOdooReader({ client: odoo.client }) });
    const answers = await Promise.all([1, 2, 3, 4].map(() => h!.gql(NESTED, { first: 4 })));
    expect(answers.every((a) => a.data.productionOrders.edges.length === 4)).toBe(true);
    expect(odoo.count("read_orders")).toBe(1);
    expect(odoo.count("read_order_details")).toBe(1);
  });

  it("forgets a failed call at once", async () => {
    const cache = new TtlCache<number>({ ttlMs: 60_000 });
    await expect(cache.getOrLoad("k", () => Promise.reject(new Error("down")))).rejects.toThrow(
      "down",
    );
    await expect(cache.getOrLoad("k", async () => 7)).resolves.toBe(7);
    await expect(cache.getOrLoad("k", async () => 8)).resolves.toBe(7);
  });

  it("answers CONFIG_ERROR when Odoo is not configured, UNAVAILABLE when it is down", async () => {
    h = await createApiHarness({ reader: createOdooReader({ client: undefined }) });
    const offline = await h.gql("{ productionOrders { edges { node { name } } } }");
    expect(offline.errors?.[0]?.extensions?.code).toBe("CONFIG_ERROR");
    await h.close();
    const { TransientError } = await import("../../sidecar/src/errors.js");
    h = await createApiHarness({
      reader: createOdooReader({
        client: {
          call: () =>
            Promise.reject(new TransientError("odoo_unreachable", "ECONNREFUSED 127.0.0.1:8069")),
        },
      }),
    });
    const down = await h.gql("{ productionOrders { edges { node { name } } } }");
    expect(down.status).toBe(200);
    expect(down.errors?.[0]?.extensions?.code).toBe("UNAVAILABLE");
    expect(down.errors?.[0]?.message).not.toContain("127.0.0.1");
  });
});

describe("OEE", () => {
  it("is Odoo's OEE, split into availability × performance × quality", () => {
    const from = new Date("2026-01-01T00:00:00Z");
    const to = new Date("2026-01-01T08:00:00Z");
    const oee = oeeOf(
      {
        key: "A",
        from: "",
        to: "",
        minutes: { productive: 300, performance: 60, quality: 30, availability: 90 },
        oee: 62.5,
        productive_time: 5,
        blocked_time: 3,
        performance: 85,
        work_orders: { expected: 255, actual: 300 },
      },
      from,
      to,
    );
    expect(oee).toMatchObject({
      availability: 0.8125,
      performance: 0.8462,
      quality: 0.9091,
      oee: 0.625,
      productiveHours: 5,
      blockedHours: 3,
      workOrderPerformance: 0.85,
    });
    expect(oee.availability! * oee.performance! * oee.quality!).toBeCloseTo(0.625, 3);
    expect(oeeOf(null, from, to)).toMatchObject({
      availability: null,
      oee: null,
      productiveMinutes: 0,
    });
  });
});
