/**
 * The heartbeat's handling of Odoo's answer, with a scripted Odoo client standing in for the HTTP
 * side: "test connection" requests are tried against the site's configuration and answered with
 * `report_connector_tests` (next to the replays, and never failing the beat), and the metric
 * snapshots carry one row per ingress source besides the site's total.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import type { ConnectorConfig } from "../../sidecar/src/contracts/site-config.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMessageParser, rejectPayload } from "../../sidecar/src/canonical/parse.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics, type Metrics } from "../../sidecar/src/metrics.js";
import { createConnectorTester } from "../../sidecar/src/odoo/connector-test.js";
import { createHeartbeat } from "../../sidecar/src/odoo/heartbeat.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createReplayer } from "../../sidecar/src/pipeline/replay.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { samples } from "../helpers/samples.js";

type Call = { method: string; kwargs: Record<string, unknown> };
type Answer = (method: string, kwargs: Record<string, unknown>) => unknown;

function scriptedClient(answer: Answer): OdooClient & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    protocol: () => "json2",
    version: async () => [19, 0],
    healthy: async () => true,
    async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
      calls.push({ method, kwargs });
      return (await answer(method, kwargs)) as T;
    },
    close: async () => undefined,
  };
}

const logger = createLogger({ level: "silent" });
let store: Store;
let metrics: Metrics;
let folder: string;

beforeEach(async () => {
  store = await openStore(":memory:");
  metrics = createMetrics({ defaultMetrics: false });
  folder = mkdtempSync(join(tmpdir(), "pb-heartbeat-"));
});
afterEach(async () => {
  await store.close();
  rmSync(folder, { recursive: true, force: true });
});

function heartbeat(
  client: OdooClient,
  connectors: ConnectorConfig[] = [],
  overrides: Partial<Parameters<typeof createHeartbeat>[0]> = {},
) {
  return createHeartbeat({
    client,
    store,
    metrics,
    logger,
    site: "main",
    name: "edge-1",
    version: "0.1.0",
    configRevision: () => 4,
    drainLatencies: () => [],
    odooUp: () => true,
    parse: createMessageParser(),
    ingestor: createIngestor({ store, metrics, logger, bus: new Bus() }),
    connectorTests: createConnectorTester({
      config: () => ({ revision: 4, connectors }),
      timeoutMs: 1000,
      // connectors configured in Odoo use folders only inside the sidecar's roots
      roots: [folder],
    }),
    ...overrides,
  });
}

const drop: ConnectorConfig = {
  id: 3,
  name: "MES export",
  kind: "file_drop",
  active: true,
  params: {},
  secrets: {},
};

it("answers Odoo's connection tests with report_connector_tests, next to the replays", async () => {
  const client = scriptedClient((method) => {
    if (method === "heartbeat")
      return {
        ok: true,
        replays: [{ replay_id: 9, fingerprint: null, payload: JSON.stringify(samples.scrap) }],
        connector_tests: [
          { test_id: 7, connector_id: 3, connector: "MES export", kind: "file_drop" },
          { test_id: 8, connector_id: 99, connector: "Gone", kind: "mqtt" },
        ],
      };
    if (method === "ack_replays") return { done: 1, failed: 0 };
    return { recorded: 2 };
  });
  await heartbeat(client, [{ ...drop, params: { path: folder } }]).beat();

  const report = client.calls.find((c) => c.method === "report_connector_tests");
  expect(report?.kwargs).toEqual({
    sidecar: "edge-1",
    results: [
      {
        test_id: 7,
        ok: true,
        message: `folder ${folder} readable and writable, 0 entries`,
        duration_ms: expect.any(Number),
      },
      {
        test_id: 8,
        ok: false,
        message: expect.stringMatching(/^unknown connector #99 "Gone"/),
        duration_ms: expect.any(Number),
      },
    ],
  });
  expect(client.calls.find((c) => c.method === "ack_replays")?.kwargs).toEqual({
    items: [{ replay_id: 9, status: "accepted" }],
  });
});

it("reports a failing connector as failed, and a failed report does not fail the beat", async () => {
  const client = scriptedClient((method) => {
    if (method === "heartbeat")
      return { ok: true, connector_tests: [{ test_id: 5, connector_id: 3, kind: "file_drop" }] };
    if (method === "report_connector_tests") throw new Error("Odoo went away");
    return {};
  });
  await expect(
    heartbeat(client, [{ ...drop, params: { path: join(folder, "missing") } }]).beat(),
  ).resolves.toBeUndefined();
  const report = client.calls.find((c) => c.method === "report_connector_tests");
  expect(report?.kwargs.results).toEqual([
    {
      test_id: 5,
      ok: false,
      message: `folder ${join(folder, "missing")} does not exist`,
      duration_ms: expect.any(Number),
    },
  ]);
});

it("sends one snapshot per ingress source seen since the last beat, then the site's total", async () => {
  const client = scriptedClient(() => ({ ok: true }));
  const beat = heartbeat(client);
  const snapshots = async () => {
    await beat.beat();
    const call = client.calls.filter((c) => c.method === "heartbeat").pop()!;
    return call.kwargs.snapshots as Array<Record<string, unknown>>;
  };
  metrics.received.inc({ site: "main", source: "mqtt" }, 3);
  metrics.received.inc({ site: "main", source: "graphql" }, 2);
  metrics.received.inc({ site: "other", source: "file" }, 5);
  metrics.applied.inc({ site: "main", type: "scrap" }, 4);

  const first = await snapshots();
  expect(first.map((s) => [s.connector, s.received, s.applied])).toEqual([
    ["mqtt", 3, 0],
    ["graphql", 2, 0],
    [undefined, 5, 4],
  ]);
  expect(first[0]).toMatchObject({ outbox_depth: 0, latency_p95: 0, odoo_up: true });
  expect(first.every((s) => s.at === first[2]!.at)).toBe(true);

  metrics.received.inc({ site: "main", source: "mqtt" }, 1);
  expect((await snapshots()).map((s) => [s.connector, s.received])).toEqual([
    ["mqtt", 1],
    [undefined, 1],
  ]);
  expect((await snapshots()).map((s) => [s.connector, s.received])).toEqual([[undefined, 0]]);
});

it("a beat Odoo does not take keeps its counts and latencies for the next one", async () => {
  let odooDown = true;
  const client = scriptedClient((method) => {
    if (method === "heartbeat" && odooDown) throw new Error("connect ECONNREFUSED");
    return { ok: true };
  });
  const latencies: number[][] = [[100, 200], [300], []];
  const beat = heartbeat(client, [], {
    drainLatencies: () => latencies.shift() ?? [],
    odooUp: () => !odooDown,
  });
  const sent = () =>
    client.calls
      .filter((c) => c.method === "heartbeat")
      .map((c) => c.kwargs.snapshots as Array<Record<string, unknown>>);

  metrics.received.inc({ site: "main", source: "mqtt" }, 7);
  metrics.applied.inc({ site: "main", type: "downtime" }, 2);
  await expect(beat.beat()).rejects.toThrow(/ECONNREFUSED/);
  metrics.received.inc({ site: "main", source: "mqtt" }, 3);
  metrics.rejected.inc({ site: "main", code: "schema" }, 1);
  odooDown = false;
  await beat.beat();

  const [failed, delivered] = sent();
  expect(failed!.at(-1)).toMatchObject({ received: 7, applied: 2 });
  // the whole outage arrives with the first beat Odoo takes: 7 + 3 received, 100/200/300 ms
  expect(delivered!.map((s) => [s.connector, s.received])).toEqual([
    ["mqtt", 10],
    [undefined, 10],
  ]);
  expect(delivered!.at(-1)).toMatchObject({
    applied: 2,
    rejected: 1,
    latency_p50: 0.2,
    latency_p99: 0.3,
  });
  // and only once
  await beat.beat();
  expect(sent()[2]!.at(-1)).toMatchObject({ received: 0, applied: 0, rejected: 0, latency_p50: 0 });
});

describe("replays queued in Odoo's exception queue", () => {
  it("never books an unauthenticated webhook body that an operator did not edit", async () => {
    const parse = createMessageParser();
    const ingestor = createIngestor({ store, metrics, logger, bus: new Bus() });
    const body = JSON.stringify({ ...samples.scrap, id: "forged-1" });
    await ingestor.ingest(
      [
        {
          kind: "reject",
          rejection: rejectPayload(
            { site: "main", source: "webhook", origin: "/webhooks/main" },
            "signature",
            "signature does not match",
            Buffer.from(body),
          ),
        },
      ],
      { source: "webhook", origin: "/webhooks/main" },
    );
    const [dl] = await store.listDeadLetters({ site: "main" });
    // A retry in Odoo hands the payload back, not edited: before, it counted as edited.
    const client = scriptedClient((method) =>
      method === "heartbeat"
        ? {
            ok: true,
            replays: [
              { replay_id: 1, fingerprint: dl!.fingerprint, payload: body, edited: false },
              { replay_id: 2, fingerprint: "gone", payload: body, code: "signature" },
            ],
          }
        : {},
    );
    const beat = createHeartbeat({
      client,
      store,
      metrics,
      logger,
      site: "main",
      name: "edge-1",
      version: "0.1.0",
      configRevision: () => 4,
      drainLatencies: () => [],
      odooUp: () => true,
      parse,
      ingestor,
      replay: createReplayer({ store, parse, ingestor }),
    });
    await beat.beat();
    expect(await store.listMessages({ site: "main" })).toEqual([]);
    expect((await store.getDeadLetter(dl!.id))!.state).toBe("open");
    const ack = client.calls.find((c) => c.method === "ack_replays")!;
    expect(ack.kwargs.items).toEqual([
      expect.objectContaining({ replay_id: 1, status: "rejected", code: "signature" }),
      expect.objectContaining({ replay_id: 2, status: "rejected", code: "signature" }),
    ]);
  });

  it("replay a local dead letter named by its fingerprint through the replayer, else parse", async () => {
    const parse = createMessageParser();
    const ingestor = createIngestor({ store, metrics, logger, bus: new Bus() });
    const [bad] = parse(JSON.stringify({ ...samples.scrap, id: "fix-1", quantity: -1 }), {
      site: "main",
      source: "mqtt",
      origin: "plant/line1/press/counts",
    });
    await ingestor.ingest([bad!], { source: "mqtt", origin: "plant/line1/press/counts" });
    const [dl] = await store.listDeadLetters({ site: "main" });
    const replayed: Array<[number, string | undefined]> = [];
    const fixed = JSON.stringify({ ...samples.scrap, id: "fix-1", quantity: 1 });
    const client = scriptedClient((method) =>
      method === "heartbeat"
        ? {
            ok: true,
            replays: [
              { replay_id: 1, fingerprint: dl!.fingerprint, payload: fixed, edited: true },
              { replay_id: 2, fingerprint: null, payload: "{broken" },
            ],
          }
        : {},
    );
    const beat = createHeartbeat({
      client,
      store,
      metrics,
      logger,
      site: "main",
      name: "edge-1",
      version: "0.1.0",
      configRevision: () => 4,
      drainLatencies: () => [],
      odooUp: () => true,
      parse,
      ingestor,
      replay: async (id, payload) => {
        replayed.push([id, payload]);
        await ingestor.ingest(
          parse(payload ?? "", { site: "main", source: "replay", origin: "x" }),
          {
            source: "replay",
            origin: "x",
          },
        );
        await store.markReplayed(id);
        return {
          deadLetter: (await store.getDeadLetter(id))!,
          results: [{ status: "accepted", seq: 1 }],
        };
      },
    });
    await beat.beat();
    // the local dead letter went through the replayer, with the payload as edited in Odoo
    expect(replayed).toEqual([[dl!.id, fixed]]);
    expect((await store.getDeadLetter(dl!.id))!.state).toBe("replayed");
    expect((await store.listMessages({ site: "main" })).map((m) => m.eventId)).toEqual(["fix-1"]);
    const ack = client.calls.find((c) => c.method === "ack_replays")!;
    expect(ack.kwargs.items).toEqual([
      { replay_id: 1, status: "accepted" },
      {
        replay_id: 2,
        status: "rejected",
        code: "invalid_json",
        message: expect.stringMatching(/not JSON/),
      },
    ]);
  });
});

it("reports each posting lane's backlog and lag in the site's snapshot", async () => {
  const receivedAt = Date.now() - 30_000;
  const ingestor = createIngestor({
    store,
    metrics,
    logger,
    bus: new Bus(),
    now: () => receivedAt,
  });
  await ingestor.ingest(
    [
      { kind: "event", event: { ...samples.machine_status, id: "ms1" } as never },
      { kind: "event", event: { ...samples.machine_status, id: "ms2" } as never },
      { kind: "event", event: { ...samples.production, id: "p1" } as never },
    ],
    { source: "mqtt", origin: "test" },
  );
  const client = scriptedClient(() => ({ ok: true }));
  await heartbeat(client).beat();
  const call = client.calls.find((c) => c.method === "heartbeat")!;
  const site = (call.kwargs.snapshots as Array<Record<string, unknown>>).at(-1)!;
  expect(site).toMatchObject({ outbox_depth: 3, critical_pending: 1, bulk_pending: 2 });
  expect(site.critical_lag).toBeGreaterThanOrEqual(29);
  expect(site.bulk_lag).toBeGreaterThanOrEqual(29);
});

it("reports the events a posting window keeps waiting, and until when", async () => {
  const ingestor = createIngestor({ store, metrics, logger, bus: new Bus() });
  await ingestor.ingest([{ kind: "event", event: { ...samples.production, id: "p1" } as never }], {
    source: "mqtt",
    origin: "test",
  });
  const [row] = await store.lease({ owner: "w", limit: 1, leaseMs: 1000 });
  const until = Date.now() + 3_600_000;
  await store.settle("w", [
    { seq: row!.seq, status: "retry", retryAt: until, code: "held", message: "Period close" },
  ]);
  const client = scriptedClient(() => ({ ok: true }));
  await heartbeat(client).beat();
  const call = client.calls.find((c) => c.method === "heartbeat")!;
  const site = (call.kwargs.snapshots as Array<Record<string, unknown>>).at(-1)!;
  expect(site).toMatchObject({ held: 1, held_until: new Date(until).toISOString() });
});
