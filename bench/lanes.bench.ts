/**
 * Priority lanes against a real Odoo 19: a production event arrives while the posting worker
 * drains a backlog of 50,000 machine states (telemetry summaries). With lanes it must go out in
 * the round after the one in flight, so it waits at most one posting round; the baseline is the
 * same run in arrival order (lanes off), where it waits behind the whole backlog. Both use the
 * worker's defaults (batches of 1,000, 3 calls at once) on a SQLite store. Needs ODOO_SRC;
 * without it prints SKIPPED.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CanonicalEvent } from "../sidecar/src/canonical/types.js";
import { createLogger } from "../sidecar/src/logger.js";
import { createMetrics } from "../sidecar/src/metrics.js";
import { createOdooClient } from "../sidecar/src/odoo/client.js";
import { createPostingWorker } from "../sidecar/src/odoo/posting-worker.js";
import { Bus } from "../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../sidecar/src/store/index.js";
import { odooAvailable, startOdoo, type OdooServer } from "../test/helpers/odoo.js";
import { median, report, round } from "./lib.js";

const BACKLOG = Number(process.env.BENCH_LANES_BACKLOG ?? 50_000);
const WORKCENTERS = ["Drill 1", "Assembly 1", "Assembly 2"];

interface Run {
  /** Receipt of the production event to the end of the round that posted it, ms. */
  latencyMs: number;
  /** Receipt to its settlement (Odoo's answer to its own call), ms. */
  appliedMs: number;
  /** Receipt to the start of the round that posted it, ms. */
  waitMs: number;
  /** Rounds started after its receipt up to and including the one that posted it. */
  rounds: number;
  /** Median duration of the rounds of the run, ms. */
  roundMs: number;
}

/** A confirmed MO of an untracked product without components: production needs no lot. */
async function confirmedOrder(odoo: OdooServer): Promise<string> {
  const [product] = await odoo.admin<number[]>("product.product", "create", {
    vals_list: [{ name: "Lanes bench part", default_code: "PB-LANES", is_storable: true }],
  });
  const [id] = await odoo.admin<number[]>("mrp.production", "create", {
    vals_list: [{ product_id: product, product_qty: 10 }],
  });
  await odoo.admin("mrp.production", "action_confirm", { ids: [id] });
  const [mo] = await odoo.admin<Array<{ name: string }>>("mrp.production", "read", {
    ids: [id],
    fields: ["name"],
  });
  return mo!.name;
}

async function drainWithProductionEvent(
  odoo: OdooServer,
  order: string,
  lanes: boolean,
): Promise<Run> {
  const tag = `${lanes ? "lanes" : "fifo"}-${Date.now()}`;
  const store = await openStore(join(mkdtempSync(join(tmpdir(), "pb-bench-lanes-")), "store.db"));
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: "warn" });
  const bus = new Bus();
  const ingestor = createIngestor({ store, metrics, logger, bus });
  const client = createOdooClient({ url: odoo.url, db: odoo.db, apiKey: odoo.apiKey });
  try {
    const base = Date.parse("2034-01-01T00:00:00Z");
    for (let from = 0; from < BACKLOG; from += 5000) {
      const chunk = Array.from({ length: Math.min(5000, BACKLOG - from) }, (_, k) => {
        const i = from + k;
        const event: CanonicalEvent = {
          id: `${tag}-ms-${i}`,
          type: "machine_status",
          site: "main",
          occurredAt: new Date(base + i * 1000).toISOString(),
          workcenter: WORKCENTERS[i % WORKCENTERS.length]!,
          status: i % 7 === 0 ? "idle" : "running",
          counters: { good: i, scrap: i % 5 },
        };
        return { kind: "event" as const, event };
      });
      await ingestor.ingest(chunk, { source: "mqtt", origin: "bench" });
    }
    const worker = createPostingWorker({
      store,
      client,
      metrics,
      logger,
      bus,
      sidecar: `bench-${tag}`,
      lanes,
    });
    const production: CanonicalEvent = {
      id: `${tag}-production`,
      type: "production",
      site: "main",
      occurredAt: new Date().toISOString(),
      order,
      quantity: 1,
    };
    const rounds: { start: number; end: number }[] = [];
    let arrivedAt = 0;
    let arrivedWall = 0;
    let appliedWall = 0;
    let postedIn = -1;
    // The first round warms Odoo up; the production event arrives just after the second began,
    // the worst moment: it waits for the whole round in flight.
    for (let round = 0; postedIn < 0; round++) {
      const start = performance.now();
      const running = worker.runOnce();
      if (round === 1) {
        await new Promise((r) => setTimeout(r, 10));
        await ingestor.ingest([{ kind: "event", event: production }], {
          source: "mqtt",
          origin: "bench",
        });
        arrivedAt = performance.now();
        arrivedWall = Date.now();
      }
      const leased = await running;
      rounds.push({ start, end: performance.now() });
      if (arrivedAt > 0) {
        const [row] = await store.listMessages({ site: "main", type: "production", limit: 1 });
        if (row && row.state !== "pending" && row.state !== "leased") {
          postedIn = round;
          appliedWall = row.settledAt ?? Date.now();
        }
        if (row?.state === "dead") throw new Error(`production rejected: ${row.lastCode}`);
      }
      if (leased === 0 && postedIn < 0) throw new Error("outbox drained without the event");
    }
    const posted = rounds[postedIn]!;
    return {
      latencyMs: posted.end - arrivedAt,
      appliedMs: appliedWall - arrivedWall,
      waitMs: posted.start - arrivedAt,
      rounds: postedIn - 1,
      roundMs: median(rounds.slice(1).map((r) => r.end - r.start)),
    };
  } finally {
    await client.close();
    await store.close();
  }
}

export async function run(): Promise<void> {
  if (!odooAvailable()) return;
  const odoo = await startOdoo();
  try {
    const order = await confirmedOrder(odoo);
    const lanes = await drainWithProductionEvent(odoo, order, true);
    const fifo = await drainWithProductionEvent(odoo, order, false);
    const result = report({
      name: "lanes-production-behind-backlog",
      unit: "s",
      value: lanes.latencyMs / 1000,
      baseline: fifo.latencyMs / 1000,
      baselineName: "the same backlog posted in arrival order (lanes off)",
      params: {
        backlog: BACKLOG,
        roundMs: Math.round(lanes.roundMs),
        waitMs: Math.round(lanes.waitMs),
        appliedMs: Math.round(lanes.appliedMs),
        // the wait before its own round began, in posting rounds (goal: at most 1)
        waitRounds: round(lanes.waitMs / lanes.roundMs, 2),
        roundsStarted: lanes.rounds,
        fifoRoundMs: Math.round(fifo.roundMs),
        fifoRoundsStarted: fifo.rounds,
      },
    });
    console.log(
      `production event behind ${BACKLOG} machine states: waited ${result.params.waitRounds} ` +
        `posting round(s) with lanes (${lanes.rounds} round started), ` +
        `${fifo.rounds} rounds in arrival order`,
    );
  } finally {
    await odoo.destroy();
  }
}
