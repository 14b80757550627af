/**
 * The Mapping Studio's contract on the whole sidecar in-process (embedded broker, SQLite, Odoo
 * offline, mappings from a PLANT_BRIDGE_MAPPINGS file): the preview of a mapping on given and on
 * recent real samples, its errors, the samples ring, what runs, a shadow version's comparisons,
 * the Sparkplug B nodes seen (a simulated edge node) — over HTTP with tokens.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { loadConfig } from "../../sidecar/src/config.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSidecar, type Sidecar } from "../../sidecar/src/main.js";
import { startEdgeNode } from "../helpers/sparkplug-edge.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "mapping-api-admin-token-0123456789";
let sidecar: Sidecar;
let base: string;

const STATUS = `{"workcenter": $machine, "status": $lookup({"RUN": "running", "ERR": "down"}, st), "occurredAt": ts}`;

async function call(method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-mapping-api-"));
  writeFileSync(
    join(dir, "mappings.json"),
    JSON.stringify({
      mappings: [
        {
          name: "Acme status",
          selector: "acme/{site}/{machine}/status",
          event_type: "machine_status",
          expression: STATUS,
        },
        {
          // the next version calls an error "idle": compared with version 1, never posted
          id: 2,
          origin_id: 1,
          version: 2,
          state: "shadow",
          name: "Acme status",
          selector: "acme/{site}/{machine}/status",
          event_type: "machine_status",
          expression: STATUS.replace('"ERR": "down"', '"ERR": "idle"'),
        },
      ],
    }),
  );
  sidecar = await startSidecar({
    config: loadConfig({
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_HTTP_PORT: "0",
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
      PLANT_BRIDGE_MAPPINGS: join(dir, "mappings.json"),
      PLANT_BRIDGE_NAME: "mapping-api-test",
    }),
    logger: createLogger({ level: "silent" }),
  });
  base = sidecar.http.url;
});

afterAll(() => sidecar.stop());

describe("mapping API", () => {
  it("previews a mapping on given samples: events, validation errors and evaluation errors", async () => {
    const { status, body } = await call("POST", "/api/v1/mappings/preview", {
      mapping: {
        selector: "acme/{site}/{machine}/status",
        eventType: "machine_status",
        expression: STATUS,
      },
      samples: [
        { topic: "acme/main/press-1/status", payload: { st: "RUN", ts: 1764144000000 } },
        { topic: "acme/main/press-2/status", payload: { st: "WARP", ts: 1764144000000 } },
        { payload: '{"st": "RUN", "ts": ' },
      ],
    });
    expect(status).toBe(200);
    expect(body.ok).toBe(false);
    expect(body.selector).toEqual({ filter: "acme/+/+/status", names: ["site", "machine"] });
    const [good, invalid, broken] = body.results;
    expect(good).toMatchObject({
      matched: true,
      params: { site: "main", machine: "press-1" },
      events: [
        {
          type: "machine_status",
          site: "main",
          workcenter: "press-1",
          status: "running",
          occurredAt: "2025-11-26T08:00:00.000Z",
          id: expect.stringMatching(/^m0-/),
        },
      ],
      rejections: [],
    });
    expect(invalid.rejections).toEqual([
      expect.objectContaining({
        code: "schema",
        event: expect.objectContaining({ workcenter: "press-2" }),
      }),
    ]);
    expect(broken).toMatchObject({
      topic: "acme/main/machine/status",
      error: { code: "mapping_error", stage: "input" },
    });
  });

  it("says what is wrong with a mapping itself", async () => {
    const { body } = await call("POST", "/api/v1/mappings/preview", {
      mapping: { selector: "acme/#/x", expression: `{"a": `, aggregation: { kind: "nope" } },
    });
    expect(body).toEqual({
      ok: false,
      problems: [expect.stringContaining("# must be the last level")],
      results: [],
    });
    const syntax = await call("POST", "/api/v1/mappings/preview", {
      mapping: { expression: `{"a": ` },
    });
    expect(syntax.body.problems).toEqual([expect.stringContaining("does not compile")]);
  });

  it("previews an aggregation: what it would post once its windows close", async () => {
    const t = Date.parse("2026-11-26T08:00:00Z");
    const { body } = await call("POST", "/api/v1/mappings/preview", {
      mapping: {
        selector: "acme/{site}/{machine}/count",
        eventType: "production",
        expression: `{"order": "WH/MO/00001", "quantity": total, "occurredAt": ts}`,
        aggregation: { window: "1m" },
      },
      samples: [100, 104, 109, 120].map((total, i) => ({ payload: { total, ts: t + i * 20_000 } })),
    });
    expect(body.ok).toBe(true);
    expect(body.aggregated.events.map((e: { quantity: number }) => e.quantity)).toEqual([9, 11]);
  });

  it("keeps recent real messages per topic and previews a mapping on them", async () => {
    const client = await mqtt.connectAsync(sidecar.broker!.url, { clientId: "mapping-api-pub" });
    await client.publishAsync(
      "acme/main/drill-7/status",
      JSON.stringify({ st: "ERR", ts: 1764144000000 }),
      { qos: 1 },
    );
    await client.endAsync();
    // Published is not yet received: the broker acknowledged the publisher.
    const samples = await waitFor("the sample", async () => {
      const answer = await call("GET", "/api/v1/samples?selector=acme/%2B/%2B/status");
      return answer.body.samples.length ? answer : undefined;
    });
    expect(samples.body.samples).toEqual([
      expect.objectContaining({
        topic: "acme/main/drill-7/status",
        encoding: "utf8",
        truncated: false,
      }),
    ]);
    const { body } = await call("POST", "/api/v1/mappings/preview", {
      mapping: { selector: "acme/{site}/{machine}/status", expression: STATUS },
      recent: 5,
    });
    expect(
      body.results.map((r: { events: Array<{ status: string }> }) => r.events[0]?.status),
    ).toEqual(["down"]);
    // The mapping from the file ran on it too.
    const stored = await waitFor("the mapped event", async () => {
      const m = await sidecar.store.listMessages({ site: "main" });
      return m.length ? m : undefined;
    });
    expect(stored.map((m) => m.origin)).toEqual(["acme/main/drill-7/status#f1@v1"]);
  });

  it("lists what runs", async () => {
    const { body } = await call("GET", "/api/v1/mappings");
    expect(body.mappings).toEqual([
      expect.objectContaining({
        ref: "f1",
        name: "Acme status",
        state: "active",
        filter: "acme/+/+/status",
        invalid: null,
      }),
      expect.objectContaining({ ref: "f1", id: 2, version: 2, state: "shadow", invalid: null }),
    ]);
  });

  it("shows what the shadow version would have posted beside what the active one posted", async () => {
    // the drill-7 message of the test above: "down" posted, "idle" only compared
    const { status, body } = await call("GET", "/api/v1/mappings/shadow?mapping=2");
    expect(status).toBe(200);
    expect(body.comparisons).toEqual([
      expect.objectContaining({
        topic: "acme/main/drill-7/status",
        mappingId: 2,
        equal: false,
        differences: ["$[0].status"],
        active: { version: 1, events: [expect.objectContaining({ status: "down" })] },
        shadow: { version: 2, events: [expect.objectContaining({ status: "idle" })] },
      }),
    ]);
    // the same id on both sides: only the status differs
    expect(body.comparisons[0].shadow.events[0].id).toBe(body.comparisons[0].active.events[0].id);
    expect((await call("GET", "/api/v1/mappings/shadow?mapping=1")).body.comparisons).toEqual([]);
    expect((await call("GET", "/api/v1/mappings/shadow")).body.comparisons).toHaveLength(1);
    const stored = await sidecar.store.listMessages({ site: "main" });
    expect(stored.map((m) => (m.event as { status: string }).status)).toEqual(["down"]);
    expect((await call("GET", "/api/v1/mappings/shadow", undefined, "")).status).toBe(401);
  });

  it("lists the Sparkplug B nodes and devices it has seen, with their sequence gaps", async () => {
    const node = await startEdgeNode({
      url: sidecar.broker!.url,
      protocolVersion: 4,
      group: "MappingApi",
      edge: "Line7",
      devices: { Press1: [{ name: "Machine/State", alias: 1, datatype: "Int32", value: 1 }] },
    });
    try {
      await node.birth();
      await node.deviceData("Press1", [{ alias: 1, value: 3 }], { skipSeq: 2 });
      const nodes = await waitFor("the node's data", async () => {
        const answer = await call("GET", "/api/v1/sparkplug/nodes");
        const line7 = answer.body.nodes.find((n: { edge: string }) => n.edge === "Line7");
        return line7?.gaps ? answer.body.nodes : undefined;
      });
      expect(nodes).toEqual([
        expect.objectContaining({
          group: "MappingApi",
          edge: "Line7",
          online: true,
          bdSeq: 0,
          gaps: 1,
          metrics: expect.arrayContaining([{ name: "bdSeq", datatype: "UInt64" }]),
          devices: [
            expect.objectContaining({
              device: "Press1",
              online: true,
              metrics: [{ name: "Machine/State", datatype: "Int32" }],
            }),
          ],
        }),
      ]);
    } finally {
      await node.close();
    }
    expect((await call("GET", "/api/v1/sparkplug/nodes", undefined, "")).status).toBe(401);
  });

  it("asks for a token; refuses malformed previews and wrong methods", async () => {
    const anonymous = await call("POST", "/api/v1/mappings/preview", { mapping: {} }, "");
    expect(anonymous.status).toBe(401);
    expect((await call("GET", "/api/v1/samples", undefined, "")).status).toBe(401);
    const bad = await call("POST", "/api/v1/mappings/preview", { mapping: {} });
    expect([bad.status, bad.body.error]).toEqual([
      400,
      expect.stringContaining("mapping.expression"),
    ]);
    expect((await call("GET", "/api/v1/mappings/preview")).status).toBe(405);
  });
});
