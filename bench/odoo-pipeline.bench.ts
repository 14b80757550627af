/**
 * MQTT -> Odoo records (downtime events) through the whole pipeline, side by side in one run with
 * (a) a naive connector: one JSON-2 `create` per event, and (b) Odoo's in-process ORM ceiling for
 * the same records (scripts/odoo_bench_orm.py inside `odoo-bin shell`). Needs a real Odoo 19
 * (ODOO_SRC); without one it prints SKIPPED.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { canonicalTopic } from "../sidecar/src/canonical/topics.js";
import { projectPath } from "../sidecar/src/paths.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { odooAvailable, startOdoo, type OdooServer } from "../test/helpers/odoo.js";
import { startSidecarProcess } from "../test/helpers/sidecar-process.js";
import { report } from "./lib.js";

const N = Number(process.env.BENCH_ODOO_EVENTS ?? 10_000);
const NAIVE_N = Number(process.env.BENCH_ODOO_NAIVE_EVENTS ?? 200);
const WORKCENTERS = ["Drill 1", "Assembly 1", "Assembly 2"];

function downtime(i: number, base: number) {
  const wc = WORKCENTERS[i % WORKCENTERS.length]!;
  const start = base + Math.floor(i / WORKCENTERS.length) * 60_000;
  return {
    id: `bench-${base}-${i}`,
    type: "downtime",
    site: "main",
    occurredAt: new Date(start + 30_000).toISOString(),
    workcenter: wc,
    reason: "Equipment Failure",
    start: new Date(start).toISOString(),
    end: new Date(start + 30_000).toISOString(),
  };
}

async function ormCeiling(odoo: OdooServer): Promise<{ sameCode: number; stock: number }> {
  const out = join(mkdtempSync(join(tmpdir(), "pb-orm-")), "orm.json");
  await new Promise<void>((resolve, reject) => {
    const p = spawn(
      "bash",
      [
        "-c",
        `source "${projectPath("scripts/odoo-common.sh")}" && pb_odoo_shell "$0" "${projectPath("scripts/odoo_bench_orm.py")}" 1000 2 "$1"`,
        odoo.db,
        out,
      ],
      { stdio: "inherit" },
    );
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`ORM ceiling script exited ${code}`)),
    );
  });
  const r = JSON.parse(readFileSync(out, "utf8")) as {
    batch_median: number;
    batch_compute_rate: number;
  };
  return { sameCode: r.batch_compute_rate, stock: r.batch_median };
}

/** A naive connector: one JSON-2 create per event, ids resolved once up front. */
async function naiveRate(odoo: OdooServer): Promise<number> {
  const wcs = await odoo.admin<Array<{ id: number; name: string }>>(
    "mrp.workcenter",
    "search_read",
    {
      domain: [["name", "in", WORKCENTERS]],
      fields: ["name"],
    },
  );
  const [loss] = await odoo.admin<number[]>("mrp.workcenter.productivity.loss", "search", {
    domain: [["name", "=", "Equipment Failure"]],
    limit: 1,
  });
  const byName = new Map(wcs.map((w) => [w.name, w.id]));
  const base = Date.parse("2032-01-01T00:00:00Z");
  const t0 = performance.now();
  for (let i = 0; i < NAIVE_N; i++) {
    const e = downtime(i, base);
    await odoo.admin("mrp.workcenter.productivity", "create", {
      vals_list: [
        {
          workcenter_id: byName.get(e.workcenter),
          loss_id: loss,
          date_start: e.start.replace("T", " ").slice(0, 19),
          date_end: e.end.replace("T", " ").slice(0, 19),
        },
      ],
    });
  }
  return NAIVE_N / ((performance.now() - t0) / 1000);
}

async function pipelineRate(
  odoo: OdooServer,
  brokerUrl: string,
): Promise<{ rate: number; publishRate: number }> {
  const sidecar = await startSidecarProcess({
    PLANT_BRIDGE_MQTT_URL: brokerUrl,
    PLANT_BRIDGE_ODOO_URL: odoo.url,
    PLANT_BRIDGE_ODOO_DB: odoo.db,
    PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
    PLANT_BRIDGE_NAME: `bench-${Date.now()}`,
    PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-bench-odoo-")), "store.db"),
    PLANT_BRIDGE_LOG_LEVEL: "warn",
    // the defaults unless a run asks otherwise (e.g. BENCH_POST_CONCURRENCY=1 for one call at a time)
    ...(process.env.BENCH_POST_CONCURRENCY && {
      PLANT_BRIDGE_POST_CONCURRENCY: process.env.BENCH_POST_CONCURRENCY,
    }),
  });
  try {
    const pub = await mqtt.connectAsync(brokerUrl, { clientId: `bench-pub-${Date.now()}` });
    const base = Date.parse("2033-01-01T00:00:00Z");
    const t0 = performance.now();
    const window: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      // One event per message, as a machine or gateway sends them.
      window.push(
        pub.publishAsync(canonicalTopic("main"), JSON.stringify(downtime(i, base)), { qos: 1 }),
      );
      if (window.length >= 100) await Promise.all(window.splice(0));
    }
    await Promise.all(window);
    const published = performance.now();
    await pub.endAsync();
    for (;;) {
      const text = await (await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`)).text();
      const m = /plant_bridge_events_applied_total\{site="main",type="downtime"\} (\d+)/.exec(text);
      if (m && Number(m[1]) >= N) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const secs = (performance.now() - t0) / 1000;
    return { rate: N / secs, publishRate: N / ((published - t0) / 1000) };
  } finally {
    await sidecar.kill("SIGTERM");
  }
}

export async function run(): Promise<void> {
  if (!odooAvailable()) return;
  const broker = await startMosquitto();
  const odoo = await startOdoo();
  try {
    const naive = await naiveRate(odoo);
    const ours = await pipelineRate(odoo, broker.url);
    const orm = await ormCeiling(odoo);
    const params = {
      events: N,
      naiveEvents: NAIVE_N,
      publishRate: Math.round(ours.publishRate),
      ormStockCompute: Math.round(orm.stock),
      ormSameCode: Math.round(orm.sameCode),
      naive: Math.round(naive),
    };
    report({
      name: "odoo-pipeline-vs-naive",
      unit: "events/s",
      value: ours.rate,
      baseline: naive,
      baselineName: "naive connector: one JSON-2 create per event",
      params,
    });
    report({
      name: "odoo-pipeline-vs-orm",
      unit: "events/s",
      value: ours.rate,
      baseline: orm.sameCode,
      baselineName: "Odoo in-process ORM create(vals_list), same records and compute",
      params,
    });
  } finally {
    await odoo.destroy();
    await broker.stop();
  }
}
