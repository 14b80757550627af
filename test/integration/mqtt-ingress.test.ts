/**
 * MQTT ingress against real brokers: the local Mosquitto and the embedded aedes broker.
 * Asserts what a user would check: the rows in the store, the dead letters with their codes, and
 * that the broker's PUBACK arrives only once the event is committed.
 */
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createMessageParser } from "../../sidecar/src/canonical/parse.js";
import { createCanonicalRoute } from "../../sidecar/src/ingress/mqtt/canonical-route.js";
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
} from "../../sidecar/src/ingress/mqtt/embedded-broker.js";
import { startMqttIngress, type MqttIngress } from "../../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { canonicalTopic, commandTopic } from "../../sidecar/src/canonical/topics.js";
import { createMqttCommandSink } from "../../sidecar/src/egress/mqtt-command-sink.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { availableBrokers, dropSession, startBroker, type TestBroker } from "../helpers/brokers.js";
import { randomName } from "../helpers/services.js";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

const logger = createLogger({ level: "silent" });
const brokers = await availableBrokers();

interface Rig {
  store: Store;
  ingress: MqttIngress;
  publisher: MqttClient;
  site: string;
  topic: string;
  close(): Promise<void>;
}

/** A store, an ingress on a random site, and a publisher: all on a real broker. */
async function rig(
  url: string,
  opts: { protocolVersion: 4 | 5 | "auto"; wrap?: (s: Store) => Store },
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "pb-mqtt-"));
  const real = await openStore(join(dir, "store.db"));
  const store = opts.wrap ? opts.wrap(real) : real;
  const site = randomName("site");
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  const ingressId = randomName("pb-ingress");
  const ingress = startMqttIngress({
    url,
    clientId: ingressId,
    protocolVersion: opts.protocolVersion,
    routes: [createCanonicalRoute({ sites: [site], parse: createMessageParser(), ingestor })],
    logger,
    reconnectPeriodMs: 200,
  });
  await ingress.ready();
  const publisher = await mqtt.connectAsync(url, {
    clientId: randomName("pb-pub"),
    protocolVersion: ingress.protocolVersion(),
  });
  return {
    store: real,
    ingress,
    publisher,
    site,
    topic: canonicalTopic(site),
    async close() {
      await publisher.endAsync();
      await ingress.close();
      await dropSession(url, ingressId, ingress.protocolVersion());
      await real.close();
    },
  };
}

function ingressSuite(name: string, getUrl: () => string, protocolVersion: 4 | 5 | "auto") {
  describe(`MQTT ingress on ${name}`, () => {
    let r: Rig;
    beforeEach(async () => {
      r = await rig(getUrl(), { protocolVersion });
    });
    afterEach(async () => {
      await r.close();
    });

    it("stores one event of every type, each once, also when published twice", async () => {
      const events = Object.values(samples).map((e) => ({
        ...e,
        site: r.site,
        id: `${e.id}-${r.site}`,
      }));
      await r.publisher.publishAsync(r.topic, JSON.stringify(events), { qos: 1 });
      for (const e of events)
        await r.publisher.publishAsync(r.topic, JSON.stringify(e), { qos: 1 });
      // The broker acknowledged the publisher; the sidecar commits on its own schedule.
      const rows = await waitFor("8 events seen twice", async () => {
        const m = await r.store.listMessages({ site: r.site, limit: 100 });
        return m.length === events.length && m.every((x) => x.duplicates === 1) ? m : undefined;
      });
      expect(rows.map((m) => m.eventId).sort()).toEqual(events.map((e) => e.id).sort());
      for (const row of rows) {
        expect(row.state).toBe("pending");
        expect(row.duplicates).toBe(1);
        expect(row.source).toBe("mqtt");
        expect(row.origin).toBe(r.topic);
        expect(row.event).toEqual(events.find((e) => e.id === row.eventId));
      }
    });

    it("dead-letters every class of bad input with its code and keeps the rest flowing", async () => {
      const ok = { ...samples.scrap, site: r.site, id: "fine-1" };
      const inputs: Array<[string | Buffer, string]> = [
        ["{not json", "invalid_json"],
        [Buffer.from([0xc3, 0x28]), "invalid_json"],
        [
          JSON.stringify({ ...samples.scrap, site: r.site, quantity: -2, id: "neg" }),
          "bad_quantity",
        ],
        [JSON.stringify({ ...samples.scrap, site: r.site, id: "x".repeat(201) }), "schema"],
        [JSON.stringify({ ...samples.scrap, site: "elsewhere", id: "other-site" }), "unauthorized"],
        [
          JSON.stringify({ ...samples.scrap, site: r.site, id: "proto", __proto__x: 1 }).replace(
            "__proto__x",
            "__proto__",
          ),
          "schema",
        ],
        [Buffer.alloc(300 * 1024, 0x5b), "too_large"],
      ];
      for (const [payload, _code] of inputs)
        await r.publisher.publishAsync(r.topic, payload, { qos: 1 });
      await r.publisher.publishAsync(r.topic, JSON.stringify(ok), { qos: 1 });
      // Messages arrive in order on one session: once the last one is stored, all are.
      await waitFor("the good event after the bad ones", async () =>
        (await r.store.listMessages({ site: r.site })).length ? true : undefined,
      );
      const dls = await r.store.listDeadLetters({ site: r.site, limit: 100 });
      expect(dls.map((d) => d.code).sort()).toEqual(inputs.map(([, c]) => c).sort());
      for (const d of dls) {
        expect(d.state).toBe("open");
        expect(d.source).toBe("mqtt");
        expect(d.origin).toBe(r.topic);
        expect(d.payloadSize).toBeGreaterThan(0);
      }
      expect(dls.find((d) => d.code === "unauthorized")?.eventId).toBe("other-site");
      expect(dls.find((d) => d.code === "too_large")?.payloadSize).toBe(300 * 1024);
      const rows = await r.store.listMessages({ site: r.site });
      expect(rows.map((m) => m.eventId)).toEqual(["fine-1"]);
    });

    it("counts a redelivered bad message instead of storing it twice", async () => {
      await r.publisher.publishAsync(r.topic, "garbage", { qos: 1 });
      await r.publisher.publishAsync(r.topic, "garbage", { qos: 1 });
      const dls = await waitFor("the repeat counted", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d[0]?.repeats === 1 ? d : undefined;
      });
      expect(dls).toHaveLength(1);
      expect(dls[0]!.repeats).toBe(1);
    });
  });
}

describe.each(brokers)("on %s", (name) => {
  let broker: TestBroker;
  let url = "";
  let version: 4 | 5 = 5;
  beforeAll(async () => {
    broker = await startBroker(name);
    url = broker.url;
    version = broker.protocolVersion;
  });
  afterAll(async () => {
    await broker.stop();
  });
  ingressSuite(name, () => url, "auto");

  it("settles on the broker's MQTT version by itself (auto)", async () => {
    const r = await rig(url, { protocolVersion: "auto" });
    try {
      expect(r.ingress.protocolVersion()).toBe(version);
      expect(r.ingress.isConnected()).toBe(true);
    } finally {
      await r.close();
    }
  });

  it("sends its PUBACK to the broker only after the event is committed", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let committed = false;
    const r = await rig(url, {
      protocolVersion: version,
      wrap: (s) => ({
        ...s,
        kind: s.kind,
        ingest: async (items) => {
          await gate;
          const res = await s.ingest(items);
          committed = true;
          return res;
        },
      }),
    });
    try {
      // Watch the packets the ingress writes to the broker.
      const pubacks: boolean[] = [];
      r.ingress.client.on("packetsend", (packet) => {
        if (packet.cmd === "puback") pubacks.push(committed);
      });
      await r.publisher.publishAsync(r.topic, JSON.stringify({ ...samples.scrap, site: r.site }), {
        qos: 1,
      });
      await new Promise((res) => setTimeout(res, 500));
      expect(pubacks).toEqual([]); // held while the commit is pending
      release();
      await waitFor("the PUBACK", async () => (pubacks.length ? true : undefined));
      expect(pubacks).toEqual([true]); // sent after the commit
      expect(await r.store.listMessages({ site: r.site })).toHaveLength(1);
    } finally {
      await r.close();
    }
  });

  it("does not acknowledge when the store fails, and gets the message again", async () => {
    let failures = 1;
    const r = await rig(url, {
      protocolVersion: version,
      wrap: (s) => ({
        ...s,
        kind: s.kind,
        ingest: async (items) => {
          if (failures-- > 0) throw new Error("disk full (simulated)");
          return s.ingest(items);
        },
      }),
    });
    try {
      await r.publisher.publishAsync(
        r.topic,
        JSON.stringify({ ...samples.scrap, site: r.site, id: "retry-me" }),
        { qos: 1 },
      );
      const rows = await waitFor("the redelivered event", async () => {
        const m = await r.store.listMessages({ site: r.site });
        return m.length ? m : undefined;
      });
      expect(rows.map((m) => m.eventId)).toEqual(["retry-me"]);
      expect(failures).toBeLessThan(0);
    } finally {
      await r.close();
    }
  });

  it("keeps its persistent session: messages sent while it is away arrive after it reconnects", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-session-"));
    const site = randomName("site");
    const clientId = randomName("pb-session");
    const start = async (store: Store) => {
      const ingress = startMqttIngress({
        url: url,
        clientId,
        protocolVersion: version,
        routes: [
          createCanonicalRoute({
            sites: [site],
            parse: createMessageParser(),
            ingestor: createIngestor({
              store,
              metrics: createMetrics({ defaultMetrics: false }),
              logger,
              bus: new Bus(),
            }),
          }),
        ],
        logger,
      });
      await ingress.ready();
      return ingress;
    };
    const store = await openStore(join(dir, "s.db"));
    const first = await start(store);
    await first.close();
    const pub = await mqtt.connectAsync(url, {
      clientId: randomName("pb-pub"),
      protocolVersion: version,
    });
    for (let i = 0; i < 20; i++)
      await pub.publishAsync(
        canonicalTopic(site),
        JSON.stringify({ ...samples.scrap, site, id: `away-${i}` }),
        { qos: 1 },
      );
    await pub.endAsync();
    const second = await start(store);
    const rows = await waitFor("queued messages", async () => {
      const m = await store.listMessages({ site, limit: 100 });
      return m.length === 20 ? m : undefined;
    });
    expect(rows).toHaveLength(20);
    await second.close();
    await store.close();
  });

  it("publishes a release on the site's command topic, where the machine receives it", async () => {
    const r = await rig(url, { protocolVersion: "auto" });
    const machine = await mqtt.connectAsync(url, {
      clientId: randomName("pb-machine"),
      protocolVersion: version,
    });
    try {
      const received = new Promise<{ topic: string; body: unknown }>((resolve) =>
        machine.on("message", (topic, m) => resolve({ topic, body: JSON.parse(m.toString()) })),
      );
      await machine.subscribeAsync(commandTopic(r.site), { qos: 1 });
      const sink = createMqttCommandSink(() => r.ingress.client, r.site);
      await sink.deliver({
        id: 7,
        type: "order_release",
        order: "WH/MO/00007",
        created: "2026-01-01T00:00:00Z",
        payload: { order: "WH/MO/00007", quantity: 5 },
      });
      expect(await received).toEqual({
        topic: commandTopic(r.site),
        body: { order: "WH/MO/00007", quantity: 5, type: "order_release" },
      });
    } finally {
      await machine.endAsync();
      await r.close();
    }
  });

  it("stores a retained event once, also when a later subscription gets it again", async () => {
    const r = await rig(url, { protocolVersion: "auto" });
    const event = { ...samples.scrap, site: r.site, id: `retained-${r.site}` };
    await r.publisher.publishAsync(r.topic, JSON.stringify(event), { qos: 1, retain: true });
    await waitFor("the retained event", async () =>
      (await r.store.listMessages({ site: r.site })).length ? true : undefined,
    );
    // A restarted sidecar with a new session (a new client id) subscribes again: the broker
    // hands it the retained copy, which the store counts as a duplicate of the same event id.
    const again = startMqttIngress({
      url,
      clientId: randomName("pb-ingress"),
      protocolVersion: "auto",
      routes: [
        createCanonicalRoute({
          sites: [r.site],
          parse: createMessageParser(),
          ingestor: createIngestor({
            store: r.store,
            metrics: createMetrics({ defaultMetrics: false }),
            logger,
            bus: new Bus(),
          }),
        }),
      ],
      logger,
    });
    try {
      await again.ready();
      const rows = await waitFor("the retained copy counted", async () => {
        const m = await r.store.listMessages({ site: r.site });
        return m[0]?.duplicates === 1 ? m : undefined;
      });
      expect(rows.map((m) => [m.eventId, m.duplicates])).toEqual([[event.id, 1]]);
    } finally {
      await r.publisher.publishAsync(r.topic, "", { qos: 1, retain: true }); // clear it
      await again.close();
      await r.close();
    }
  });
});

describe("with the embedded broker (aedes)", () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ port: 0, host: "127.0.0.1", logger });
  });
  afterAll(async () => {
    await broker.close();
  });
  ingressSuite("the embedded broker (MQTT 3.1.1)", () => broker.url, 4);

  it("closes a connection whose packet declares more than the limit, before buffering it", async () => {
    const small = await startEmbeddedBroker({
      port: 0,
      host: "127.0.0.1",
      maxPacketBytes: 64 * 1024,
      logger,
    });
    try {
      const socket = net.connect(small.port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.on("error", () => undefined);
      // An unauthenticated CONNECT declaring 256 MiB (the largest MQTT remaining length).
      socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let open = true;
      void closed.then(() => (open = false));
      while (open && sent < 32 * 1024 * 1024) {
        if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
        sent += chunk.length;
      }
      await closed;
      expect(sent).toBeLessThan(32 * 1024 * 1024);
      // Everyone else is served as before.
      const ok = await mqtt.connectAsync(small.url, { reconnectPeriod: 0 });
      await ok.publishAsync("t", "x".repeat(1000), { qos: 1 });
      await ok.endAsync();
    } finally {
      await small.close();
    }
  });

  it("authorizes by topic: devices publish events, only the sidecar commands; its client id is its own", async () => {
    const acl = await startEmbeddedBroker({
      port: 0,
      host: "127.0.0.1",
      sidecarClientIds: ["plant-bridge-edge"],
      sites: ["main"],
      logger,
    });
    const connect = (opts: mqtt.IClientOptions = {}) =>
      mqtt.connectAsync(acl.url, { reconnectPeriod: 0, protocolVersion: 4, ...opts });
    try {
      const watcher = await connect();
      const seen: string[] = [];
      watcher.on("message", (topic) => seen.push(topic));
      await watcher.subscribeAsync("#", { qos: 1 });
      // A device may publish its site's events, mapped topics and Sparkplug data...
      for (const topic of [
        "plant-bridge/v1/main/events",
        "acme/line1/press",
        "spBv1.0/g/NDATA/e1",
      ]) {
        const device = await connect();
        await device.publishAsync(topic, "{}", { qos: 1 });
        await device.endAsync();
      }
      // ...not commands, another site's events, Sparkplug commands or the host's STATE.
      for (const topic of [
        "plant-bridge/v1/main/commands",
        "plant-bridge/v1/other/events",
        "spBv1.0/g/NCMD/e1",
        "spBv1.0/g/DCMD/e1/d1",
        "spBv1.0/STATE/edge",
      ]) {
        const device = await connect();
        const closed = new Promise<void>((resolve) => device.once("close", () => resolve()));
        device.publish(topic, "forged", { qos: 1 });
        await closed; // the broker drops a client that publishes where it may not
        device.end(true);
      }
      // Nobody else takes the sidecar's client id, with or without the configured credentials.
      await expect(connect({ clientId: "plant-bridge-edge" })).rejects.toThrow();
      const sidecar = await connect({ clientId: "plant-bridge-edge", ...acl.sidecarCredentials });
      await sidecar.publishAsync("plant-bridge/v1/main/commands", "release", { qos: 1 });
      await sidecar.endAsync();
      await waitFor("the sidecar's command", async () =>
        seen.includes("plant-bridge/v1/main/commands") ? true : undefined,
      );
      expect(seen.sort()).toEqual(
        [
          "acme/line1/press",
          "plant-bridge/v1/main/commands",
          "plant-bridge/v1/main/events",
          "spBv1.0/g/NDATA/e1",
        ].sort(),
      );
      await watcher.endAsync();
    } finally {
      await acl.close();
    }
  });

  it("refuses to listen beyond loopback without credentials", async () => {
    await expect(startEmbeddedBroker({ port: 0, host: "0.0.0.0", logger })).rejects.toThrow(
      /without credentials/,
    );
  });

  it("requires the configured credentials", async () => {
    const secured = await startEmbeddedBroker({
      port: 0,
      host: "127.0.0.1",
      username: "plant",
      password: "s3cret-pass",
      logger,
    });
    try {
      await expect(
        mqtt.connectAsync(secured.url, {
          username: "plant",
          password: "wrong",
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow();
      const ok = await mqtt.connectAsync(secured.url, {
        username: "plant",
        password: "s3cret-pass",
        reconnectPeriod: 0,
      });
      await ok.endAsync();
    } finally {
      await secured.close();
    }
  });
});
