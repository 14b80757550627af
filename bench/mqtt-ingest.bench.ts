/**
 * MQTT -> durable inbox, events/s at QoS 1, side by side with a raw mqtt.js subscriber that
 * only counts what it receives, on the same broker (the local Mosquitto) in the same run.
 * Both subscribers get the same stream from one publisher; each run uses fresh topics.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { createMessageParser } from "../sidecar/src/canonical/parse.js";
import { createCanonicalRoute } from "../sidecar/src/ingress/mqtt/canonical-route.js";
import { startMqttIngress } from "../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { canonicalTopic } from "../sidecar/src/canonical/topics.js";
import { createLogger } from "../sidecar/src/logger.js";
import { createMetrics } from "../sidecar/src/metrics.js";
import { Bus } from "../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../sidecar/src/store/index.js";
import { median, report } from "./lib.js";

const URL = process.env.PLANT_BRIDGE_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
const N = Number(process.env.BENCH_MQTT_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = createLogger({ level: "silent" });

function events(site: string, n: number, run: string): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `${run}-${i}`,
      type: "scrap",
      site,
      occurredAt: new Date().toISOString(),
      product: "FURN_8522",
      quantity: 1,
    }),
  );
}

async function publishAll(topic: string, payloads: string[]): Promise<void> {
  const pub = await mqtt.connectAsync(URL, { clientId: `bench-pub-${Math.random()}` });
  const window: Promise<unknown>[] = [];
  for (const p of payloads) {
    window.push(pub.publishAsync(topic, p, { qos: 1 }));
    if (window.length >= 100) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await pub.endAsync();
}

/** Raw mqtt.js: QoS 1 persistent session, counts messages, acknowledges immediately. */
async function rawRate(): Promise<number> {
  const site = `bench${Math.random().toString(36).slice(2, 8)}`;
  const topic = canonicalTopic(site);
  const sub = await mqtt.connectAsync(URL, {
    clientId: `bench-raw-${site}`,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 60 },
  });
  await sub.subscribeAsync(topic, { qos: 1 });
  let count = 0;
  const done = new Promise<void>((resolve) => sub.on("message", () => ++count === N && resolve()));
  const start = performance.now();
  await Promise.all([publishAll(topic, events(site, N, site)), done]);
  const secs = (performance.now() - start) / 1000;
  await sub.endAsync();
  return N / secs;
}

/** Plant Bridge: parse + validate + commit (SQLite WAL, synchronous=FULL) before each PUBACK. */
async function bridgeRate(storeKind: "sqlite"): Promise<number> {
  const site = `bench${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-"));
  const store = await openStore(join(dir, `${storeKind}.db`));
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const route = createCanonicalRoute({ sites: [site], parse: createMessageParser(), ingestor });
  const counting = {
    ...route,
    handle: async (t: string, p: Buffer, pk: Parameters<typeof route.handle>[2]) => {
      await route.handle(t, p, pk);
      if (++count === N) resolveDone();
    },
  };
  const ingress = startMqttIngress({
    url: URL,
    clientId: `bench-pb-${site}`,
    routes: [counting],
    logger,
  });
  await ingress.ready();
  const start = performance.now();
  await Promise.all([publishAll(canonicalTopic(site), events(site, N, site)), done]);
  const secs = (performance.now() - start) / 1000;
  const stored = (await store.stats()).sites.find((s) => s.site === site)?.pending ?? 0;
  await ingress.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (stored !== N) throw new Error(`expected ${N} stored events, found ${stored}`);
  return N / secs;
}

export async function run(): Promise<void> {
  const raw: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate the order so neither side always runs on a warmer machine.
    if (i % 2 === 0) {
      raw.push(await rawRate());
      ours.push(await bridgeRate("sqlite"));
    } else {
      ours.push(await bridgeRate("sqlite"));
      raw.push(await rawRate());
    }
  }
  report({
    name: "mqtt-ingest-qos1",
    unit: "events/s",
    value: median(ours),
    baseline: median(raw),
    baselineName: "raw mqtt.js subscriber (QoS 1, counts only)",
    params: {
      events: N,
      rounds: ROUNDS,
      broker: URL,
      store: "sqlite WAL synchronous=FULL",
      runs: { ours, raw },
    },
  });
}
