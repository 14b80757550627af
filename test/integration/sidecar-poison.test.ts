/**
 * Poison-message immunity as `startSidecar` wires it (embedded broker, SQLite, mappings from a
 * file, Odoo offline): hostile messages on the canonical and on a mapped topic become coded dead
 * letters and the valid messages behind them are kept; a store that takes nothing turns /readyz
 * to 503 with its reason, and nothing is dead-lettered for it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { loadConfig } from "../../sidecar/src/config.js";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSidecar, type Sidecar } from "../../sidecar/src/main.js";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

let sidecar: Sidecar;
let publisher: MqttClient;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-sidecar-poison-"));
  writeFileSync(
    join(dir, "mappings.json"),
    JSON.stringify([
      {
        name: "Press status",
        selector: "acme/{site}/{machine}/status",
        event_type: "machine_status",
        expression: `{"workcenter": $machine, "status": "running", "occurredAt": ts}`,
      },
    ]),
  );
  sidecar = await startSidecar({
    config: loadConfig({
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_HTTP_PORT: "0",
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_MAPPINGS: join(dir, "mappings.json"),
      PLANT_BRIDGE_MAX_MESSAGE_BYTES: "4096",
      PLANT_BRIDGE_NAME: "poison-test",
    }),
    logger: createLogger({ level: "silent" }),
  });
  publisher = await mqtt.connectAsync(sidecar.broker!.url, { protocolVersion: 4 });
});

afterAll(async () => {
  await publisher.endAsync();
  await sidecar.stop();
});

describe("a whole sidecar under hostile messages", () => {
  it("codes hostile messages on the canonical and the mapped topic, and keeps the valid ones", async () => {
    const canonical = canonicalTopic("main");
    const mapped = "acme/main/press-1/status";
    const sent: Array<[string, string]> = [
      [canonical, "[".repeat(3000)],
      [canonical, `{"id":"s1","type":"scrap","site":{"toString":1},"product":"P","quantity":1}`],
      [canonical, JSON.stringify({ ...samples.scrap, id: "after-canonical" })],
      [mapped, "x".repeat(8192)],
      [mapped, '{"a":'.repeat(100) + "1" + "}".repeat(100)],
      [mapped, JSON.stringify({ ts: 1764144000000 })],
    ];
    for (const [topic, payload] of sent) await publisher.publishAsync(topic, payload, { qos: 1 });
    const rows = await waitFor("the two valid messages", async () => {
      const m = await sidecar.store.listMessages({ site: "main", limit: 100 });
      return m.length >= 2 ? m : undefined;
    });
    expect(rows.map((m) => m.event.type).sort()).toEqual(["machine_status", "scrap"]);
    const dls = await sidecar.store.listDeadLetters({ site: "main", limit: 100 });
    expect(dls.map((d) => [d.code, d.origin]).sort()).toEqual(
      [
        ["too_complex", canonical],
        ["unauthorized", canonical],
        ["too_large", mapped],
        ["too_complex", mapped],
      ].sort(),
    );
    const ready = await fetch(`${sidecar.http.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("holds input back and says so on /readyz while the store takes nothing", async () => {
    const store = sidecar.store;
    const ingest = store.ingest.bind(store);
    const stats = store.stats.bind(store);
    let down = true;
    store.ingest = (items, options) =>
      down
        ? Promise.reject(new Error("SQLITE_IOERR: disk I/O error (simulated)"))
        : ingest(items, options);
    // A store that is gone answers no read either (PostgreSQL stopped): /metrics must still
    // answer, with the counters that tell why, not a 500.
    store.stats = (now) =>
      down ? Promise.reject(new Error("connect ECONNREFUSED (simulated)")) : stats(now);
    try {
      await publisher.publishAsync(
        canonicalTopic("main"),
        JSON.stringify({ ...samples.scrap, id: "held-back" }),
        { qos: 1 },
      );
      const body = await waitFor("readiness to fall", async () => {
        const res = await fetch(`${sidecar.http.url}/readyz`);
        return res.status === 503 ? ((await res.json()) as { reasons: string[] }) : undefined;
      });
      expect(body.reasons.join(" ")).toMatch(/store failing since .* input is held back/);
      // Retried once, then not acknowledged: held back (the broker sends it again later).
      const metrics = await waitFor("the hold-back", async () => {
        const res = await fetch(`${sidecar.http.url}/metrics`);
        expect(res.status).toBe(200);
        const text = await res.text();
        return /plant_bridge_ingest_held_total\{route="canonical"\} [1-9]/.test(text)
          ? text
          : undefined;
      });
      expect(metrics).toMatch(/plant_bridge_store_failures_total [2-9]/);
      expect(await sidecar.store.listMessages({ site: "main", limit: 100 })).toHaveLength(2);
      down = false;
      await waitFor("the held-back event", async () =>
        (await sidecar.store.listMessages({ site: "main", limit: 100 })).some(
          (m) => m.eventId === "held-back",
        )
          ? true
          : undefined,
      );
      expect((await fetch(`${sidecar.http.url}/readyz`)).status).toBe(200);
      const dls = await sidecar.store.listDeadLetters({ site: "main", limit: 100 });
      expect(dls.some((d) => d.code === "internal")).toBe(false);
    } finally {
      store.ingest = ingest;
      store.stats = stats;
    }
  });
});
