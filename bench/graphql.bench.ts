/**
 * GraphQL over Odoo: a nested production-order page (orders, components with lots, work orders
 * with their work centers) through the API in-process (yoga.fetch, Odoo cache off so that every
 * request reaches Odoo) vs the equivalent raw JSON-2 calls (read_orders → read_order_details →
 * read_workcenters) in the same run, on a real Odoo 19 served by scripts/odoo-serve.sh; and the
 * number of Odoo calls per request as the page grows (DataLoader batching keeps it flat).
 */
import type { OdooClient } from "../sidecar/src/contracts/odoo-api.js";
import { createOdooReader } from "../sidecar/src/api/odoo-reader.js";
import { createOdooClient } from "../sidecar/src/odoo/client.js";
import { createApiHarness } from "../test/helpers/api-harness.js";
import { odooAvailable, startOdoo } from "../test/helpers/odoo.js";
import { median, report, round } from "./lib.js";

const REQUESTS = Number(process.env.BENCH_GRAPHQL_REQUESTS ?? 100);
const PAGE = 20;
const QUERY = `query($first: Int!) { productionOrders(first: $first) { edges { node {
  name state quantity { planned produced }
  components { product { reference } quantityPlanned quantityConsumed lots { name quantity } }
  workOrders { operation state workCenter { key status workingState } }
} } } }`;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function timed(n: number, fn: () => Promise<void>) {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  return { rps: n / seconds, p50: median(latencies), p99: percentile(latencies, 99) };
}

export async function run(): Promise<void> {
  if (!odooAvailable()) return;
  const odoo = await startOdoo();
  let client: OdooClient | undefined;
  try {
    // enough orders for pages of 50: confirm copies of the demo desk order
    await odoo.shell(`
base = env.ref('mrp.mrp_production_1')
for i in range(60):
    base.copy().action_confirm()
env.cr.commit()
`);
    client = createOdooClient({ url: odoo.url, db: odoo.db, apiKey: odoo.apiKey });
    const counted = { calls: 0 };
    const counting = {
      call<T>(model: string, method: string, kwargs?: Record<string, unknown>) {
        counted.calls++;
        return client!.call<T>(model, method, kwargs);
      },
    };
    const h = await createApiHarness({ reader: createOdooReader({ client: counting, ttlMs: 0 }) });
    const callsPerPage: Record<string, number> = {};
    for (const first of [1, 5, 20, 50]) {
      counted.calls = 0;
      const r = await h.gql(QUERY, { first });
      if (r.errors || r.data.productionOrders.edges.length !== first)
        throw new Error(`page of ${first}: ${JSON.stringify(r.errors ?? r.data)}`);
      callsPerPage[first] = counted.calls;
    }
    const raw = async () => {
      const page = await client!.call<{ orders: Array<{ name: string }> }>(
        "plant_bridge.api",
        "read_orders",
        { site: "main", filter: {}, limit: PAGE },
      );
      const details = await client!.call<Array<{ work_orders: Array<{ workcenter: string }> }>>(
        "plant_bridge.api",
        "read_order_details",
        { site: "main", names: page.orders.map((o) => o.name) },
      );
      const keys = [...new Set(details.flatMap((d) => d.work_orders.map((w) => w.workcenter)))];
      await client!.call("plant_bridge.api", "read_workcenters", { site: "main", names: keys });
    };
    const graphql = async () => {
      const r = await h.gql(QUERY, { first: PAGE });
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    };
    await raw();
    await graphql();
    const rawRuns = [];
    const gqlRuns = [];
    for (let round_ = 0; round_ < 3; round_++) {
      rawRuns.push(await timed(REQUESTS, raw));
      gqlRuns.push(await timed(REQUESTS, graphql));
    }
    await h.close();
    const best = <T extends { rps: number }>(runs: T[]) =>
      runs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const g = best(gqlRuns);
    const r = best(rawRuns);
    report({
      name: "graphql-nested-orders",
      unit: "requests/s",
      value: g.rps,
      baseline: r.rps,
      baselineName: "the same three plant_bridge.api read calls over raw JSON-2, in sequence",
      params: {
        page: PAGE,
        requests_per_round: REQUESTS,
        rounds: 3,
        graphql_p50_ms: round(g.p50, 1),
        graphql_p99_ms: round(g.p99, 1),
        raw_p50_ms: round(r.p50, 1),
        raw_p99_ms: round(r.p99, 1),
        graphql_rps_rounds: gqlRuns.map((x) => round(x.rps, 1)),
        raw_rps_rounds: rawRuns.map((x) => round(x.rps, 1)),
        odoo_calls_per_request_by_page_size: callsPerPage,
        odoo_cache: "off (ttlMs 0): every request reaches Odoo",
        server: "odoo-bin --workers=0 (scripts/odoo-serve.sh), demo data + 60 confirmed orders",
        cpus: 2,
      },
    });
  } finally {
    await client?.close();
    await odoo.destroy();
  }
}
