/**
 * The cost of low-code: events/s through a typical JSONata mapping (vendor topic -> worker-thread
 * sandbox -> validation -> durable inbox, PUBACK after commit) side by side with the canonical
 * topic, through the same sidecar wiring (one sequencer, both routes), on a private Mosquitto
 * sized as the README tells operators (a lagging subscriber's queue must not overflow: the
 * publisher runs ahead of the slower side), alternating rounds in one run. Both sides hold each
 * PUBACK until the commit, and the broker sends at most 100 unacknowledged messages: a mapped
 * message's extra latency (the round trip to a worker thread) is what its throughput pays.
 */
import type { MqttRoute } from "../sidecar/src/contracts/mqtt.js";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { createEventChecker, createMessageParser } from "../sidecar/src/canonical/parse.js";
import { createCanonicalRoute } from "../sidecar/src/ingress/mqtt/canonical-route.js";
import { startMqttIngress } from "../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { canonicalTopic } from "../sidecar/src/canonical/topics.js";
import { createLogger } from "../sidecar/src/logger.js";
import { createMetrics } from "../sidecar/src/metrics.js";
import { createAggregator } from "../sidecar/src/pipeline/aggregation/aggregator.js";
import { Bus } from "../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../sidecar/src/pipeline/ingestor.js";
import { defineMappings } from "../sidecar/src/pipeline/mapping/definition.js";
import { createMappingEngine } from "../sidecar/src/pipeline/mapping/engine.js";
import { createMappingRoute } from "../sidecar/src/pipeline/mapping/mapping-route.js";
import { startSandboxPool } from "../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { createSequencer, inSequence } from "../sidecar/src/pipeline/mapping/sequencer.js";
import { createShadowLog } from "../sidecar/src/pipeline/mapping/shadow.js";
import { openStore } from "../sidecar/src/store/index.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { median, report } from "./lib.js";

let URL = "";
const N = Number(process.env.BENCH_MQTT_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(
  process.env.BENCH_MAPPING_WORKERS ?? Math.max(1, Math.min(4, availableParallelism() - 1)),
);
const logger = createLogger({ level: "silent" });

/** A typical vendor mapping: renames, a lookup table, a timestamp, a derived idempotency key. */
const EXPRESSION = `{
  "product": $lookup({"A7": "FURN_7800", "B2": "FURN_8522"}, part),
  "quantity": qty,
  "reason": $lowercase(why) & " on " & $machine,
  "occurredAt": ts
}`;

async function publishAll(messages: Array<[string, string]>): Promise<void> {
  const pub = await mqtt.connectAsync(URL, { clientId: `bench-pub-${Math.random()}` });
  const window: Promise<unknown>[] = [];
  for (const [topic, payload] of messages) {
    window.push(pub.publishAsync(topic, payload, { qos: 1 }));
    if (window.length >= 100) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await pub.endAsync();
}

async function rate(kind: "canonical" | "mapped"): Promise<number> {
  const site = `bench${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-map-"));
  const store = await openStore(join(dir, "store.db"));
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  const pool = startSandboxPool({ logger, workers: WORKERS });
  const sequencer = createSequencer();
  const engine = createMappingEngine({
    ingestor,
    pool,
    aggregator: createAggregator({ store }),
    check: createEventChecker(),
    sequencer,
    shadow: createShadowLog(),
    logger,
  });
  await engine.start();
  const { definitions } = defineMappings(
    [
      {
        id: 1,
        name: "Acme scrap",
        connector_id: null,
        selector: `acme-${site}/{site}/{machine}/scrap`,
        event_type: "scrap",
        expression: EXPRESSION,
        key_expression: null,
        version: 1,
        state: "active",
        aggregation: null,
      },
    ],
    { site, origin: "odoo" },
  );
  engine.setMappings("bench", definitions);
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const counting = (route: MqttRoute): MqttRoute => ({
    name: route.name,
    get filters() {
      return route.filters;
    },
    handle: async (t, p, pk) => {
      await route.handle(t, p, pk);
      if (++count === N) resolveDone();
    },
  });
  const ingress = startMqttIngress({
    url: URL,
    clientId: `bench-map-${site}`,
    routes: [
      counting(
        inSequence(
          createCanonicalRoute({ sites: [site], parse: createMessageParser(), ingestor }),
          sequencer,
        ),
      ),
      counting(createMappingRoute({ engine })),
    ],
    logger,
  });
  await ingress.ready();
  const ts = Date.now();
  const messages: Array<[string, string]> = Array.from({ length: N }, (_, i) =>
    kind === "canonical"
      ? [
          canonicalTopic(site),
          JSON.stringify({
            id: `${site}-${i}`,
            type: "scrap",
            site,
            occurredAt: new Date(ts + i).toISOString(),
            product: "FURN_8522",
            quantity: 1,
            reason: `dent on press-${i % 8}`,
          }),
        ]
      : [
          `acme-${site}/${site}/press-${i % 8}/scrap`,
          JSON.stringify({ part: i % 2 ? "A7" : "B2", qty: 1, why: "DENT", ts: ts + i, n: i }),
        ],
  );
  const start = performance.now();
  await Promise.all([publishAll(messages), done]);
  const secs = (performance.now() - start) / 1000;
  await ingress.close();
  await engine.close();
  await ingestor.flush();
  const stored = (await store.stats()).sites.find((s) => s.site === site)?.pending ?? 0;
  const deadLetters = await store.listDeadLetters({ site, limit: 5 });
  const dead = deadLetters.length;
  for (const d of deadLetters) console.error(`${kind}: dead letter ${d.code}: ${d.message}`);
  await pool.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (stored !== N || dead)
    throw new Error(`${kind}: expected ${N} stored events, found ${stored} (${dead} dead letters)`);
  return N / secs;
}

export async function run(): Promise<void> {
  const broker = await startMosquitto();
  URL = broker.url;
  const canonical: number[] = [];
  const mapped: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate the order so neither side always runs on a warmer machine.
    if (i % 2 === 0) {
      canonical.push(await rate("canonical"));
      mapped.push(await rate("mapped"));
    } else {
      mapped.push(await rate("mapped"));
      canonical.push(await rate("canonical"));
    }
  }
  await broker.stop();
  report({
    name: "mapping-vs-canonical",
    unit: "events/s",
    value: median(mapped),
    baseline: median(canonical),
    baselineName: "canonical topic through the same sidecar wiring",
    params: {
      events: N,
      rounds: ROUNDS,
      qos: 1,
      store: "sqlite",
      broker: "private Mosquitto, max_queued_messages 1000000, max_inflight_messages 100",
      mappingWorkers: WORKERS,
      expression: "renames, $lookup, $lowercase, concatenation; derived idempotency keys",
      mapped: mapped.map(Math.round),
      canonical: canonical.map(Math.round),
    },
  });
}
