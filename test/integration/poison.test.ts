/**
 * Nothing one message does may stop the flow (poison-message immunity). On the local Mosquitto:
 * a message that makes our code throw, one the store refuses, one too deep to parse, one too large
 * for a mapping each become a coded dead letter, and every valid event published after them is
 * kept; only a store that takes nothing holds input back, and then nothing is dead-lettered for it.
 */
import type { MessageParser } from "../../sidecar/src/contracts/checkers.js";
import type { MqttRoute } from "../../sidecar/src/contracts/mqtt.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createMessageParser } from "../../sidecar/src/canonical/parse.js";
import { createCanonicalRoute } from "../../sidecar/src/ingress/mqtt/canonical-route.js";
import { startMqttIngress, type MqttIngress } from "../../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics, type Metrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createMappingRoute } from "../../sidecar/src/pipeline/mapping/mapping-route.js";
import type { MappingEngine } from "../../sidecar/src/pipeline/mapping/engine.js";
import { createQuarantine } from "../../sidecar/src/pipeline/quarantine.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { MQTT_TEST_URL, randomName, serviceAvailable } from "../helpers/services.js";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

const logger = createLogger({ level: "silent" });
const mosquittoUp = await serviceAvailable("Mosquitto", "127.0.0.1", 1883);

interface Rig {
  store: Store;
  ingestor: Ingestor;
  metrics: Metrics;
  ingress: MqttIngress;
  publisher: MqttClient;
  site: string;
  topic: string;
  close(): Promise<void>;
}

async function rig(
  opts: {
    wrap?: (s: Store) => Store;
    parse?: MessageParser;
    extraRoutes?: (ingestor: Ingestor) => MqttRoute[];
    maxHoldBackMs?: number;
  } = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "pb-poison-"));
  const real = await openStore(join(dir, "store.db"));
  const store = opts.wrap ? opts.wrap(real) : real;
  const site = randomName("site");
  const metrics = createMetrics({ defaultMetrics: false });
  const ingestor = createIngestor({ store, metrics, logger, bus: new Bus() });
  const parse = opts.parse ?? createMessageParser();
  const ingress = startMqttIngress({
    url: MQTT_TEST_URL,
    clientId: randomName("pb-poison"),
    routes: [
      createCanonicalRoute({ sites: [site], parse, ingestor }),
      ...(opts.extraRoutes?.(ingestor) ?? []),
    ],
    logger,
    reconnectPeriodMs: 100,
    maxHoldBackMs: opts.maxHoldBackMs ?? 400,
    quarantine: { settle: createQuarantine({ ingestor, logger, retryDelayMs: 20 }), site },
    metrics,
  });
  await ingress.ready();
  const publisher = await mqtt.connectAsync(MQTT_TEST_URL, { clientId: randomName("pb-pub") });
  return {
    store: real,
    ingestor,
    metrics,
    ingress,
    publisher,
    site,
    topic: canonicalTopic(site),
    async close() {
      await publisher.endAsync();
      await ingress.close();
      await real.close();
    },
  };
}

function good(site: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({ ...samples.scrap, site, id: `good-${i}` }));
}

async function publishAll(r: Rig, payloads: Array<string | Buffer>) {
  for (const p of payloads) await r.publisher.publishAsync(r.topic, p, { qos: 1 });
}

async function keptIds(r: Rig, count: number): Promise<string[]> {
  const rows = await waitFor(
    `${count} events kept`,
    async () => {
      const m = await r.store.listMessages({ site: r.site, limit: 1000 });
      return m.length >= count ? m : undefined;
    },
    20_000,
  );
  return rows.map((m) => m.eventId).sort();
}

(mosquittoUp ? describe : describe.skip)("poison messages on the local Mosquitto", () => {
  it("a message whose handling throws becomes an internal dead letter; the 60 behind it flow", async () => {
    // A bug of ours, triggered by one payload: the parser throws on it.
    const real = createMessageParser();
    const parse: typeof real = (payload, ctx) => {
      if (Buffer.from(payload).includes("detonate")) throw new TypeError("boom in the parser");
      return real(payload, ctx);
    };
    const r = await rig({ parse });
    try {
      const poison = JSON.stringify({ ...samples.scrap, site: r.site, id: "detonate" });
      const events = good(r.site, 60);
      await publishAll(r, [poison, ...events.map((e) => JSON.stringify(e))]);
      expect(await keptIds(r, 60)).toEqual(events.map((e) => e.id).sort());
      const dls = await r.store.listDeadLetters({ site: r.site });
      expect(dls.map((d) => [d.code, d.source, d.origin])).toEqual([["internal", "mqtt", r.topic]]);
      expect(dls[0]!.payload).toBe(poison);
      expect(dls[0]!.message).toMatch(/TypeError: boom in the parser/);
    } finally {
      await r.close();
    }
  });

  it("hostile structures are coded before any parse: a site object, 100,000 levels, 1e400", async () => {
    const r = await rig();
    try {
      const inputs: Array<[string, string]> = [
        // String(site) threw here once: the message was redelivered forever.
        [
          `{"id":"s","type":"scrap","site":{"toString":1},"product":"P","quantity":1}`,
          "unauthorized",
        ],
        ["[".repeat(100_000) + "]".repeat(100_000), "too_complex"],
        [
          JSON.stringify({ ...samples.scrap, site: r.site, id: "big" }).replace(
            /"quantity":[^,}]+/,
            '"quantity":1e400',
          ),
          "schema",
        ],
        [`{"a":${"[1,".repeat(30_000)}1${"]".repeat(30_000)}}`, "too_complex"],
      ];
      const events = good(r.site, 20);
      await publishAll(r, [...inputs.map(([p]) => p), ...events.map((e) => JSON.stringify(e))]);
      expect(await keptIds(r, 20)).toEqual(events.map((e) => e.id).sort());
      const dls = await r.store.listDeadLetters({ site: r.site, limit: 100 });
      expect(dls.map((d) => d.code).sort()).toEqual(inputs.map(([, c]) => c).sort());
    } finally {
      await r.close();
    }
  });

  it("a message the store refuses is kept as base64 while the others commit", async () => {
    const r = await rig({
      wrap: (s) => ({
        ...s,
        kind: s.kind,
        ingest: async (items, o) => {
          if (items.some((i) => i.kind === "event" && i.event.id === "store-poison"))
            throw new Error("SQLITE_MISMATCH (simulated: the store refuses this row)");
          return s.ingest(items, o);
        },
      }),
    });
    try {
      const poison = JSON.stringify({ ...samples.scrap, site: r.site, id: "store-poison" });
      const events = good(r.site, 30);
      await publishAll(r, [poison, ...events.map((e) => JSON.stringify(e))]);
      expect(await keptIds(r, 30)).toEqual(events.map((e) => e.id).sort());
      const dls = await waitFor("the dead letter", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d.length ? d : undefined;
      });
      expect(dls.map((d) => [d.code, d.payloadEncoding])).toEqual([["internal", "base64"]]);
      expect(Buffer.from(dls[0]!.payload, "base64").toString()).toBe(poison);
    } finally {
      await r.close();
    }
  });

  it("a store that takes nothing holds input back (no dead letter), visibly, and loses nothing", async () => {
    let down = true;
    const r = await rig({
      wrap: (s) => ({
        ...s,
        kind: s.kind,
        ingest: async (items, o) => {
          if (down) throw new Error("SQLITE_FULL: database or disk is full (simulated)");
          return s.ingest(items, o);
        },
      }),
    });
    try {
      const events = good(r.site, 25);
      await publishAll(
        r,
        events.map((e) => JSON.stringify(e)),
      );
      const heldMetric = () =>
        r.metrics.registry.getSingleMetricAsString("plant_bridge_ingest_held_total");
      await waitFor("the hold-back to show", async () =>
        /route="canonical"} [1-9]/.test(await heldMetric()) ? true : undefined,
      );
      expect(r.ingestor.health().ok).toBe(false);
      expect(r.ingestor.health().lastError).toMatch(/SQLITE_FULL/);
      expect(await r.store.listMessages({ site: r.site })).toEqual([]);
      expect(await r.store.listDeadLetters({ site: r.site })).toEqual([]);
      down = false;
      expect(await keptIds(r, 25)).toEqual(events.map((e) => e.id).sort());
      expect(r.ingestor.health()).toEqual({ ok: true, failures: 0 });
      expect(await r.store.listDeadLetters({ site: r.site })).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it("a store that stays down doubles the wait once per dropped connection, not per message", async () => {
    // 25 messages arrive on each connection and all fail: the wait must go 200, 400, 800 ms, not
    // jump to its ceiling after one connection (a short store outage then cost 30 s of input).
    let down = true;
    const r = await rig({
      maxHoldBackMs: 1600,
      wrap: (s) => ({
        ...s,
        kind: s.kind,
        ingest: async (items, o) => {
          if (down) throw new Error("SQLITE_FULL: database or disk is full (simulated)");
          return s.ingest(items, o);
        },
      }),
    });
    try {
      const waits: number[] = [];
      r.ingress.client.on("close", () => waits.push(r.ingress.client.options.reconnectPeriod!));
      const events = good(r.site, 25);
      await publishAll(
        r,
        events.map((e) => JSON.stringify(e)),
      );
      await waitFor("three dropped connections", async () =>
        waits.length >= 3 ? true : undefined,
      );
      expect(waits.slice(0, 3)).toEqual([200, 400, 800]);
      down = false;
      expect(await keptIds(r, 25)).toEqual(events.map((e) => e.id).sort());
    } finally {
      await r.close();
    }
  });

  it("a mapped topic refuses a message beyond the size or shape limits with its code", async () => {
    const mappedTopic = `plant/${randomName("line")}/status`;
    const handled: string[] = [];
    const engine = {
      filters: () => [mappedTopic],
      handle: (m: { topic: string; input: { kind: string; text?: string } }) => {
        handled.push(m.input.text ?? "");
        return Promise.resolve();
      },
    } as unknown as MappingEngine;
    const r = await rig({
      extraRoutes: () => [createMappingRoute({ engine, limits: { maxMessageBytes: 1024 } })],
    });
    try {
      for (const p of ["x".repeat(2048), "[".repeat(100), '{"state":"RUN"}'])
        await r.publisher.publishAsync(mappedTopic, p, { qos: 1 });
      await waitFor("the valid mapped message", async () => (handled.length ? true : undefined));
      expect(handled).toEqual(['{"state":"RUN"}']);
      const dls = await waitFor("two dead letters", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d.length === 2 ? d : undefined;
      });
      expect(dls.map((d) => [d.code, d.origin]).sort()).toEqual([
        ["too_complex", mappedTopic],
        ["too_large", mappedTopic],
      ]);
      expect(dls.find((d) => d.code === "too_large")!.payloadSize).toBe(2048);
    } finally {
      await r.close();
    }
  });
});
