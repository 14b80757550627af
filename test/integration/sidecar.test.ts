/**
 * The whole sidecar in-process on the embedded default (aedes broker on a free port, SQLite,
 * Odoo offline) with the simulator: what `npm start` runs. Checks the HTTP contract: /healthz,
 * /readyz, /metrics names, GraphQL auth, submitEvents, dead letters and replay.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { loadConfig } from "../../sidecar/src/config.js";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSidecar, type Sidecar } from "../../sidecar/src/main.js";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "test-admin-token-0123456789";
let sidecar: Sidecar;
let base: string;

async function gql(
  query: string,
  variables: Record<string, unknown> = {},
  token: string | undefined = TOKEN,
) {
  const res = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      data?: Record<string, any>;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    },
  };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-sidecar-"));
  const config = loadConfig({
    PLANT_BRIDGE_MQTT_PORT: "0",
    PLANT_BRIDGE_HTTP_PORT: "0",
    PLANT_BRIDGE_STORE: join(dir, "store.db"),
    PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
    PLANT_BRIDGE_SIM_RATE: "50",
  });
  sidecar = await startSidecar({
    config,
    logger: createLogger({ level: "silent" }),
    simulate: true,
  });
  base = sidecar.http.url;
});

afterAll(async () => {
  await sidecar.stop();
});

describe("the sidecar on the embedded default", () => {
  it("is alive and ready with the embedded broker and the SQLite store", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(sidecar.broker).toBeDefined();
    expect(sidecar.store.kind).toBe("sqlite");
  });

  it("stores what the simulator publishes and exposes the contract's metrics", async () => {
    await waitFor("simulated events", async () =>
      (sidecar.simulator?.published ?? 0) >= 20 ? true : undefined,
    );
    const text = await waitFor("metrics with received events", async () => {
      const t = await (await fetch(`${base}/metrics`)).text();
      return /plant_bridge_events_received_total\{site="main",source="mqtt"\} [1-9]/.test(t)
        ? t
        : undefined;
    });
    for (const name of [
      "plant_bridge_events_received_total",
      "plant_bridge_events_applied_total",
      "plant_bridge_events_duplicate_total",
      "plant_bridge_events_rejected_total",
      "plant_bridge_outbox_pending",
      "plant_bridge_lane_pending",
      "plant_bridge_lane_lag_seconds",
      "plant_bridge_dead_letters",
      "plant_bridge_odoo_up",
      "plant_bridge_post_latency_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toMatch(/plant_bridge_outbox_pending\{site="main"\} [1-9]/);
    // the simulated machines' states wait in the bulk lane
    expect(text).toMatch(/plant_bridge_lane_pending\{site="main",lane="bulk"\} [1-9]/);
    expect(text).toMatch(/^plant_bridge_odoo_up 0$/m);
    const rows = await sidecar.store.listMessages({ site: "main", limit: 500 });
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.type))).toContain("machine_status");
    expect(rows.every((r) => r.source === "mqtt" && r.state === "pending")).toBe(true);
  });

  it("answers 401 without a token or with a wrong one", async () => {
    const none = await gql("{ sidecar { name } }", {}, "");
    expect(none.status).toBe(401);
    expect(none.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await gql("{ sidecar { name } }", {}, "wrong-token-000000000")).status).toBe(401);
  });

  it("takes events through submitEvents: accepted, duplicate, rejected with codes", async () => {
    const r = await gql(
      `mutation($events: [JSON!]!) { submitEvents(events: $events) { id status code } }`,
      {
        events: [
          { ...samples.scrap, id: "gql-1" },
          { ...samples.scrap, id: "gql-1" },
          { ...samples.scrap, id: "gql-2", quantity: -1 },
          { ...samples.scrap, id: "gql-3", site: "other" },
        ],
      },
    );
    expect(r.status).toBe(200);
    expect(r.body.data?.submitEvents).toEqual([
      { id: "gql-1", status: "accepted", code: null },
      { id: "gql-1", status: "duplicate", code: "duplicate" },
      { id: "gql-2", status: "rejected", code: "bad_quantity" },
      { id: "gql-3", status: "rejected", code: "unauthorized" },
    ]);
    const msgs = await gql(
      `{ messages(filter: { site: "main", type: scrap }, first: 500) { edges { node { eventId source state } } } }`,
    );
    const gqlRows = (
      msgs.body.data?.messages.edges as Array<{ node: { eventId: string; source: string } }>
    ).filter((e) => e.node.source === "graphql");
    expect(gqlRows.map((e) => e.node.eventId)).toEqual(["gql-1"]);
  });

  it("lists dead letters and replays an edited one into the outbox", async () => {
    const pub = await mqtt.connectAsync(sidecar.broker!.url);
    await pub.publishAsync(
      canonicalTopic("main"),
      JSON.stringify({ ...samples.consumption, id: "fix-me", quantity: 0 }),
      { qos: 1 },
    );
    await pub.endAsync();
    const dl = await waitFor("the dead letter", async () => {
      const r = await gql(
        `{ deadLetters(filter: { code: "bad_quantity", state: open }) { edges { node { id eventId code payload source } } } }`,
      );
      const edges = r.body.data?.deadLetters.edges as Array<{
        node: { id: string; eventId: string; source: string };
      }>;
      return edges.find((e) => e.node.eventId === "fix-me")?.node;
    });
    expect(dl.source).toBe("mqtt");
    const replay = await gql(
      `mutation($id: ID!, $p: JSON) { replayDeadLetter(id: $id, payload: $p) { deadLetter { state } results { id status } } }`,
      {
        id: dl.id,
        p: { ...samples.consumption, id: "fix-me", quantity: 2 },
      },
    );
    expect(replay.body.data?.replayDeadLetter).toEqual({
      deadLetter: { state: "replayed" },
      results: [{ id: "fix-me", status: "accepted" }],
    });
    const rows = await sidecar.store.listMessages({ site: "main", type: "consumption" });
    expect(rows.find((r) => r.eventId === "fix-me")?.event).toMatchObject({ quantity: 2 });
    const again = await gql(
      `mutation($id: ID!) { replayDeadLetter(id: $id) { deadLetter { state } } }`,
      { id: dl.id },
    );
    expect(again.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("refuses oversized request bodies with 413", async () => {
    const res = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: "{ sidecar { name } }", pad: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
  });
});
