/**
 * The GraphQL API in-process (yoga.fetch) on a real SQLite store, plus the HTTP server for what
 * only HTTP shows (401, WebSocket, CSRF): trace queries, every mutation, subscriptions over SSE
 * and WebSocket, scopes and sites, revoked tokens, and abusive documents (4xx, never 5xx).
 */
import type { Principal } from "../../sidecar/src/contracts/http.js";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { chainAuthenticators, createStaticAuthenticator } from "../../sidecar/src/api/auth.js";
import { startHttpServer, type HttpServer } from "../../sidecar/src/api/http-server.js";
import { createOdooTokens, type OdooToken } from "../../sidecar/src/api/odoo-tokens.js";
import { createGraphqlWebSocket } from "../../sidecar/src/api/ws.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createHash } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";
import { ADMIN, createApiHarness, type ApiHarness } from "../helpers/api-harness.js";

const logger = createLogger({ level: "silent" });
const READER: Principal = { name: "bi", scopes: ["read:orders", "read:messages"] };
const WRITER_MAIN: Principal = {
  name: "mes",
  scopes: ["write:events", "read:messages"],
  sites: ["main"],
};
const OTHER_SITE: Principal = { name: "plant2", scopes: ["admin"], sites: ["north"] };

let h: ApiHarness;
beforeEach(async () => {
  h = await createApiHarness();
});
afterEach(async () => {
  await h.close();
});

describe("mutations", () => {
  it("submitEvents: accepted, duplicate, rejected with codes, durable before the answer", async () => {
    const r = await h.gql(
      `mutation($e: [JSON!]!) { submitEvents(events: $e) { id status code } }`,
      {
        e: [
          { ...samples.scrap, id: "s-1" },
          { ...samples.scrap, id: "s-1" },
          { ...samples.scrap, id: "s-2", quantity: 0 },
        ],
      },
      WRITER_MAIN,
    );
    expect(r.data.submitEvents).toEqual([
      { id: "s-1", status: "accepted", code: null },
      { id: "s-1", status: "duplicate", code: "duplicate" },
      { id: "s-2", status: "rejected", code: "bad_quantity" },
    ]);
    const rows = await h.store.listMessages({ site: "main" });
    expect(rows.map((m) => [m.eventId, m.source, m.state])).toEqual([
      ["s-1", "graphql", "pending"],
    ]);
    expect((await h.store.listDeadLetters({ site: "main" }))[0]).toMatchObject({
      code: "bad_quantity",
    });
  });

  it.each([
    [
      "reportProduction",
      "ProductionInput",
      { order: "WH/MO/00001", quantity: 2, finish: true },
      { type: "production", order: "WH/MO/00001", quantity: 2, finish: true },
    ],
    [
      "reportConsumption",
      "ConsumptionInput",
      { order: "WH/MO/00001", product: "FURN_0269", quantity: 1, lot: "L1" },
      { type: "consumption", product: "FURN_0269", lot: "L1" },
    ],
    [
      "reportScrap",
      "ScrapInput",
      { product: "FURN_7800", quantity: 1, reason: "dent" },
      { type: "scrap", reason: "dent" },
    ],
    [
      "reportDowntime",
      "DowntimeInput",
      {
        workCenter: "Drill 1",
        reason: "jam",
        start: "2026-11-26T08:00:00Z",
        end: "2026-11-26T08:10:00Z",
      },
      { type: "downtime", workcenter: "Drill 1", start: "2026-11-26T08:00:00.000Z" },
    ],
    [
      "reportWorkOrderStatus",
      "WorkOrderStatusInput",
      { order: "WH/MO/00001", operation: "Manual Assembly", status: "started" },
      { type: "workorder_status", status: "started" },
    ],
    [
      "reportLabor",
      "LaborInput",
      {
        order: "WH/MO/00001",
        operation: "Manual Assembly",
        operator: "B-0001",
        kind: "setup",
        start: "2026-11-26T08:00:00Z",
        end: "2026-11-26T08:15:00Z",
      },
      { type: "labor", operator: "B-0001", kind: "setup", end: "2026-11-26T08:15:00.000Z" },
    ],
    [
      "reportMachineStatus",
      "MachineStatusInput",
      { workCenter: "Drill 1", status: "down", counters: { good: 3 } },
      { type: "machine_status", workcenter: "Drill 1", counters: { good: 3 } },
    ],
    [
      "reportQuality",
      "QualityInput",
      { test: "torque", result: "fail", value: 4.2, order: "WH/MO/00001", hold: true },
      { type: "quality", value: 4.2, hold: true },
    ],
    [
      "requestMaintenance",
      "MaintenanceInput",
      { workCenter: "Drill 1", kind: "corrective", description: "noise" },
      { type: "maintenance", workcenter: "Drill 1" },
    ],
    [
      "reportTransfer",
      "TransferInput",
      { product: "PB_RESIN", quantity: 4, lot: "R1", from: "WH/Stock", to: "WH/Pre-Production" },
      {
        type: "transfer",
        product: "PB_RESIN",
        lot: "R1",
        from: "WH/Stock",
        to: "WH/Pre-Production",
      },
    ],
    [
      "reportNonconformance",
      "NonconformanceInput",
      {
        order: "WH/MO/00001",
        lot: "L1",
        quantity: 2,
        defect: "porosity",
        disposition: "use_as_is",
        approvedBy: "qa.lead",
      },
      { type: "nonconformance", disposition: "use_as_is", approvedBy: "qa.lead", quantity: 2 },
    ],
    [
      "submitRecord",
      "RecordInput",
      {
        kind: "test_report",
        lot: "L1",
        customer: "C-0042",
        sha256: "a".repeat(64),
        uri: "https://docs.example/reports/1.pdf",
      },
      { type: "record", kind: "test_report", uri: "https://docs.example/reports/1.pdf" },
    ],
  ])(
    "%s makes one canonical event through the pipeline",
    async (mutation, input, fields, expected) => {
      const id = `typed-${mutation}`;
      const q = `mutation($i: ${input}!) { ${mutation}(input: $i) { id status code message } }`;
      const r = await h.gql(q, { i: { id, ...fields } }, WRITER_MAIN);
      expect(r.data[mutation]).toEqual({ id, status: "accepted", code: null, message: null });
      const again = await h.gql(q, { i: { id, ...fields } }, WRITER_MAIN);
      expect(again.data[mutation].status).toBe("duplicate");
      const [row] = await h.store.listMessages({ site: "main" });
      expect(row!.event).toMatchObject({ id, site: "main", ...expected });
      expect(Date.parse(row!.event.occurredAt)).toBeGreaterThan(Date.now() - 60_000);
    },
  );

  it("reportProduction carries by-products with their lots", async () => {
    const q = `mutation($i: ProductionInput!) { reportProduction(input: $i) { id status code } }`;
    const byproducts = [
      { product: "PB_CHIPS", quantity: 2, lot: "C1" },
      { product: "PB_DUST", quantity: 0.5 },
    ];
    const r = await h.gql(
      q,
      { i: { id: "typed-byproducts", order: "WH/MO/00001", quantity: 1, byproducts } },
      WRITER_MAIN,
    );
    expect(r.data.reportProduction).toEqual({
      id: "typed-byproducts",
      status: "accepted",
      code: null,
    });
    const rows = await h.store.listMessages({ site: "main" });
    const row = rows.find((m) => m.event.id === "typed-byproducts");
    expect(row!.event).toMatchObject({ type: "production", byproducts });
  });

  it("reportTransfer validates an order's step with what was picked, and refuses a mixed form", async () => {
    const q = `mutation($i: TransferInput!) { reportTransfer(input: $i) { id status code } }`;
    const lines = [{ product: "PB_BOLT", quantity: 6 }];
    const step = { order: "WH/MO/00007", step: "pick_components", lines, backorder: false };
    const r = await h.gql(q, { i: { id: "typed-pick", ...step } }, WRITER_MAIN);
    expect(r.data.reportTransfer).toEqual({ id: "typed-pick", status: "accepted", code: null });
    const rows = await h.store.listMessages({ site: "main" });
    expect(rows.find((m) => m.event.id === "typed-pick")!.event).toMatchObject({
      type: "transfer",
      ...step,
    });
    const mixed = await h.gql(
      q,
      { i: { id: "typed-mixed", ...step, to: "WH/Stock" } },
      WRITER_MAIN,
    );
    expect(mixed.data.reportTransfer).toEqual({
      id: "typed-mixed",
      status: "rejected",
      code: "schema",
    });
  });

  it("refuses a nonconformance or a record the canonical schema refuses, with its code", async () => {
    const nc = await h.gql(
      `mutation { reportNonconformance(input: { id: "nc-bad", lot: "L1", quantity: 1, defect: "x",
        disposition: use_as_is }) { id status code } }`,
      {},
      WRITER_MAIN,
    );
    expect(nc.data.reportNonconformance).toEqual({
      id: "nc-bad",
      status: "rejected",
      code: "schema",
    });
    const rec = await h.gql(
      `mutation { submitRecord(input: { id: "rec-bad", kind: other, lot: "L1", sha256: "${"a".repeat(64)}",
        uri: "javascript:alert(1)" }) { id status code } }`,
      {},
      WRITER_MAIN,
    );
    expect(rec.data.submitRecord).toEqual({ id: "rec-bad", status: "rejected", code: "schema" });
    expect((await h.store.listDeadLetters({ site: "main" })).map((d) => d.eventId).sort()).toEqual([
      "nc-bad",
      "rec-bad",
    ]);
  });

  it("rejects a typed event the canonical schema refuses, with its code", async () => {
    const r = await h.gql(
      `mutation { reportScrap(input: { id: "neg", product: "X", quantity: -1 }) { id status code } }`,
      {},
      WRITER_MAIN,
    );
    expect(r.data.reportScrap).toEqual({ id: "neg", status: "rejected", code: "bad_quantity" });
  });

  it("replays and discards dead letters (admin only, own sites only)", async () => {
    await h.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, {
      e: [
        { ...samples.scrap, id: "dl-1", quantity: 0 },
        { ...samples.scrap, id: "dl-2", quantity: 0 },
      ],
    });
    const list = await h.gql(
      `{ deadLetters(filter: { state: open }) { edges { node { id eventId code } } } }`,
    );
    const ids = Object.fromEntries(
      list.data.deadLetters.edges.map((e: { node: { id: string; eventId: string } }) => [
        e.node.eventId,
        e.node.id,
      ]),
    );
    const forbidden = await h.gql(
      `mutation { discardDeadLetter(id: "${ids["dl-2"]}", reason: "x") { state } }`,
      {},
      WRITER_MAIN,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const hidden = await h.gql(
      `mutation { discardDeadLetter(id: "${ids["dl-2"]}", reason: "x") { state } }`,
      {},
      OTHER_SITE,
    );
    expect(hidden.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const replay = await h.gql(
      `mutation($id: ID!, $p: JSON) { replayDeadLetter(id: $id, payload: $p) { deadLetter { state } results { id status } } }`,
      { id: ids["dl-1"], p: { ...samples.scrap, id: "dl-1", quantity: 2 } },
    );
    expect(replay.data.replayDeadLetter).toEqual({
      deadLetter: { state: "replayed" },
      results: [{ id: "dl-1", status: "accepted" }],
    });
    const discard = await h.gql(
      `mutation { discardDeadLetter(id: "${ids["dl-2"]}", reason: "test data") { state note } }`,
    );
    expect(discard.data.discardDeadLetter).toEqual({ state: "discarded", note: "test data" });
  });

  it("refuses more than 1000 events in one call as bad input", async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ({ ...samples.scrap, id: `many-${i}` }));
    const r = await h.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, {
      e: events,
    });
    expect(r.errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      errorCode: "too_large",
    });
    expect(await h.store.listMessages({})).toHaveLength(0);
  });
});

describe("queries of the trace", () => {
  it("pages messages by cursor, filters by order, answers sidecar health and metrics", async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      ...samples.production,
      id: `p-${i}`,
      order: i < 3 ? "WH/MO/00001" : "WH/MO/00002",
    }));
    await h.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, { e: events });
    const first = await h.gql(
      `{ messages(first: 2) { edges { node { eventId } } pageInfo { hasNextPage endCursor } } }`,
      {},
      READER,
    );
    expect(
      first.data.messages.edges.map((e: { node: { eventId: string } }) => e.node.eventId),
    ).toEqual(["p-4", "p-3"]);
    expect(first.data.messages.pageInfo.hasNextPage).toBe(true);
    const rest = await h.gql(
      `query($a: String) { messages(first: 10, after: $a) { edges { node { eventId } } pageInfo { hasNextPage } } }`,
      { a: first.data.messages.pageInfo.endCursor },
      READER,
    );
    expect(
      rest.data.messages.edges.map((e: { node: { eventId: string } }) => e.node.eventId),
    ).toEqual(["p-2", "p-1", "p-0"]);
    const byOrder = await h.gql(
      `{ messages(filter: { order: "WH/MO/00002" }) { edges { node { eventId type state } } } }`,
      {},
      READER,
    );
    expect(byOrder.data.messages.edges).toHaveLength(2);
    const health = await h.gql(
      `{ sidecar { name storeKind sites { site pending } metrics(names: ["plant_bridge_events_received_total"]) { name labels value } } }`,
    );
    expect(health.data.sidecar.sites).toEqual([{ site: "main", pending: 5 }]);
    expect(health.data.sidecar.metrics).toEqual([
      {
        name: "plant_bridge_events_received_total",
        labels: { site: "main", source: "graphql" },
        value: 5,
      },
    ]);
    const bad = await h.gql(`{ messages(after: "not-a-cursor") { edges { cursor } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

describe("scopes and sites", () => {
  it("needs the scope of each field", async () => {
    const r = await h.gql(
      `mutation { reportScrap(input: { id: "x", product: "P", quantity: 1 }) { id } }`,
      {},
      READER,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await h.gql(`{ sidecar { name } }`, {}, READER)).errors?.[0]?.extensions?.code).toBe(
      "FORBIDDEN",
    );
    expect(
      (await h.gql(`{ workCenters { edges { cursor } } }`, {}, READER)).errors?.[0]?.extensions
        ?.code,
    ).toBe("FORBIDDEN");
    expect(await h.store.listMessages({})).toHaveLength(0);
  });

  it("keeps a site-bound token to its site", async () => {
    const other = await h.gql(
      `mutation($e: [JSON!]!) { submitEvents(events: $e, site: "main") { id } }`,
      { e: [samples.scrap] },
      OTHER_SITE,
    );
    expect(other.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const typed = await h.gql(
      `mutation { reportScrap(input: { id: "x", site: "main", product: "P", quantity: 1 }) { id } }`,
      {},
      OTHER_SITE,
    );
    expect(typed.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await h.gql(
      `mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`,
      { e: [samples.scrap] },
      ADMIN,
    );
    const read = await h.gql(
      `{ messages(filter: { site: "main" }) { edges { cursor } } }`,
      {},
      OTHER_SITE,
    );
    expect(read.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const own = await h.gql(`{ messages { edges { node { site } } } }`, {}, OTHER_SITE);
    expect(own.data.messages.edges).toEqual([]);
    // an event of another site inside a site-bound token's batch is rejected as unauthorized
    const mixed = await h.gql(
      `mutation($e: [JSON!]!) { submitEvents(events: $e) { status code } }`,
      { e: [{ ...samples.scrap, id: "n-1", site: "main" }] },
      OTHER_SITE,
    );
    expect(mixed.data.submitEvents).toEqual([{ status: "rejected", code: "unauthorized" }]);
  });
});

describe("abusive documents answer 4xx, never 5xx", () => {
  const deep = `{ productionOrders { edges { node { finishedLots { producedBy { finishedLots { producedBy { finishedLots { producedBy { finishedLots { name } } } } } } } } } } }`;
  const aliased = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: sidecar { name }`).join(" ")} }`;
  const expensive = `{ deadLetters(first: 500) { edges { node { id site eventId code message payload payloadEncoding payloadSize source origin repeats state createdAt updatedAt note } } } messages(first: 500) { edges { node { id site eventId type state attempts source origin receivedAt settledAt duplicates odooRef lastCode lastMessage event } } } }`;
  const tokens = `{ sidecar { ${"name ".repeat(3000)} } }`;
  it.each([
    ["too deep", deep],
    ["too many aliases", aliased],
    ["too expensive", expensive],
    ["too many tokens", tokens],
    ["introspection (off)", `{ __schema { types { name } } }`],
    ["unknown field", `{ nope }`],
  ])("%s", async (_name, query) => {
    const r = await h.gql(query);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.errors?.length).toBeGreaterThan(0);
    expect(r.data ?? null).toBeNull();
  });

  it("batched requests (an array body)", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([
          { query: "{ sidecar { name } }" },
          { query: "{ sidecar { name } }" },
        ]),
      },
      { principal: ADMIN },
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it("a page size beyond the maximum, given as a variable", async () => {
    const r = await h.gql(`query($n: Int) { messages(first: $n) { edges { cursor } } }`, {
      n: 100_000,
    });
    expect(r.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("a cross-site simple request (CSRF): GET without a preflight header", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql?query=%7Bsidecar%7Bname%7D%7D",
      { method: "GET" },
      { principal: ADMIN },
    );
    expect(res.status).toBe(403);
    const ok = await h.api.fetch(
      "http://localhost/graphql?query=%7Bsidecar%7Bname%7D%7D",
      { method: "GET", headers: { "graphql-preflight": "1" } },
      { principal: ADMIN },
    );
    expect(ok.status).toBe(200);
  });
});

describe("cross-origin browsers (CORS)", () => {
  const preflight = (origin: string) =>
    h.api.fetch(
      "http://localhost/graphql",
      {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      },
      { principal: ADMIN },
    );
  const post = (origin: string) =>
    h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ sidecar { name } }" }),
      },
      { principal: ADMIN },
    );

  it("allows no other origin by default: a page elsewhere cannot read the API", async () => {
    const pre = await preflight("https://evil.example");
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    const res = await post("https://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows exactly the configured origins, without credentials", async () => {
    const harness = await createApiHarness({ corsOrigins: ["https://odoo.plant.example"] });
    try {
      const res = await harness.api.fetch(
        "http://localhost/graphql",
        {
          method: "OPTIONS",
          headers: {
            origin: "https://odoo.plant.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
          },
        },
        { principal: ADMIN },
      );
      expect(res.headers.get("access-control-allow-origin")).toBe("https://odoo.plant.example");
      expect(res.headers.get("access-control-allow-credentials")).not.toBe("true");
      const other = await harness.api.fetch(
        "http://localhost/graphql",
        {
          method: "POST",
          headers: { origin: "https://evil.example", "content-type": "application/json" },
          body: JSON.stringify({ query: "{ sidecar { name } }" }),
        },
        { principal: ADMIN },
      );
      expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    } finally {
      await harness.close();
    }
  });
});

describe("subscriptions", () => {
  it("eventProcessed and machineStatusChanged over SSE, filtered by the token's site", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          query: `subscription { eventProcessed { eventId eventType type status code } }`,
        }),
      },
      { principal: WRITER_MAIN },
    );
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const machine = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          // `workcenter` is deprecated, not removed: old clients keep working
          query: `subscription { machineStatusChanged(site: "main") { workCenter workcenter status eventId } }`,
        }),
      },
      { principal: { name: "screen", scopes: ["read:machines"] } },
    );
    const machineReader = machine.body!.getReader();
    // the subscription starts when its stream is first read
    const processed = readSse(reader, 2);
    const statuses = readSse(machineReader, 1);
    await new Promise((r) => setTimeout(r, 100));
    await h.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, {
      e: [
        { ...samples.machine_status, id: "ms-1" },
        { ...samples.scrap, id: "sc-1", quantity: 0 },
      ],
    });
    expect(await processed).toEqual([
      {
        eventProcessed: {
          eventId: "ms-1",
          eventType: "machine_status",
          type: "machine_status",
          status: "accepted",
          code: null,
        },
      },
      {
        eventProcessed: {
          eventId: "sc-1",
          eventType: null,
          type: null,
          status: "rejected",
          code: "bad_quantity",
        },
      },
    ]);
    expect(await statuses).toEqual([
      {
        machineStatusChanged: {
          workCenter: samples.machine_status.workcenter,
          workcenter: samples.machine_status.workcenter,
          status: samples.machine_status.status,
          eventId: "ms-1",
        },
      },
    ]);
    await reader.cancel();
    await machineReader.cancel();
  });

  it("orderReleased carries what the outbound poller delivered", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          query: `subscription { orderReleased { site type order name key product quantity due } }`,
        }),
      },
      { principal: { name: "mes", scopes: ["read:orders"], sites: ["main"] } },
    );
    const reader = res.body!.getReader();
    const released = readSse(reader, 1);
    await new Promise((r) => setTimeout(r, 100));
    h.bus.emit("orderReleased", {
      site: "north",
      payload: { type: "order_release", order: "N/MO/1", id: "x" },
    });
    h.bus.emit("orderReleased", {
      site: "main",
      payload: {
        // Odoo renamed the order for a split: the plant still knows it by its order key
        type: "order_change",
        site: "main",
        id: "order_change:WH/MO/00001:2",
        order: "WH/MO/00001",
        name: "WH/MO/00001-001",
        product: "FURN_7800",
        quantity: 3,
        due: "2026-11-27T08:00:00+00:00",
        outboundId: 5,
      },
    });
    expect(await released).toEqual([
      {
        orderReleased: {
          site: "main",
          type: "order_change",
          order: "WH/MO/00001",
          name: "WH/MO/00001-001",
          key: "order_change:WH/MO/00001:2",
          product: "FURN_7800",
          quantity: 3,
          due: "2026-11-27T08:00:00.000Z",
        },
      },
    ]);
    await reader.cancel();
  });

  it("orderReleased says what is left to produce, priority and origin, and an order closed in Odoo", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({
          query: `subscription { orderReleased { type order remaining produced priority origin } }`,
        }),
      },
      { principal: { name: "mes", scopes: ["read:orders"], sites: ["main"] } },
    );
    const reader = res.body!.getReader();
    const released = readSse(reader, 2);
    await new Promise((r) => setTimeout(r, 100));
    h.bus.emit("orderReleased", {
      site: "main",
      payload: {
        type: "order_release",
        id: "order_release:WH/MO/00007:1",
        order: "WH/MO/00007",
        quantity: 5,
        remaining: 5,
        priority: 1,
        origin: "SO/0042",
        outboundId: 7,
      },
    });
    h.bus.emit("orderReleased", {
      site: "main",
      payload: {
        type: "order_done",
        id: "order_done:WH/MO/00007:2",
        order: "WH/MO/00007",
        quantity: 5,
        produced: 4,
        backorder: "WH/MO/00007-002",
        outboundId: 8,
      },
    });
    expect(await released).toEqual([
      {
        orderReleased: {
          type: "order_release",
          order: "WH/MO/00007",
          remaining: 5,
          produced: null,
          priority: 1,
          origin: "SO/0042",
        },
      },
      {
        orderReleased: {
          type: "order_done",
          order: "WH/MO/00007",
          remaining: null,
          produced: 4,
          priority: null,
          origin: null,
        },
      },
    ]);
    await reader.cancel();
  });

  it("needs the subscription's scope", async () => {
    const res = await h.api.fetch(
      "http://localhost/graphql",
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ query: `subscription { machineStatusChanged { status } }` }),
      },
      { principal: READER },
    );
    const text = await res.text();
    expect(text).toContain("FORBIDDEN");
  });
});

describe("over HTTP and WebSocket, with tokens managed in Odoo", () => {
  const ADMIN_TOKEN = "test-admin-token-0123456789";
  const MES_TOKEN = "pbt_mes-screen-token-abcdefghijklmnop";
  let listed: OdooToken[];
  let http: HttpServer;
  let tokens: ReturnType<typeof createOdooTokens>;
  let odooDown: boolean;
  let skewMs: number;

  beforeEach(async () => {
    odooDown = false;
    skewMs = 0;
    listed = [
      {
        name: "MES screen",
        hash: createHash("sha256").update(MES_TOKEN).digest("hex"),
        scopes: ["read:machines", "write:events"],
        sites: ["main"],
        expires_at: null,
      },
    ];
    tokens = createOdooTokens({
      client: {
        call: async <T>() => {
          if (odooDown)
            throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
          return structuredClone(listed) as T;
        },
      },
      logger,
      now: () => Date.now() + skewMs,
    });
    await tokens.refresh();
    const auth = chainAuthenticators(
      createStaticAuthenticator({ adminToken: ADMIN_TOKEN }),
      tokens,
    );
    http = await startHttpServer({
      port: 0,
      api: h.api,
      auth,
      metrics: h.metrics,
      logger,
      health: () => ({}),
      ready: () => ({ ready: true, reasons: [] }),
      websocket: createGraphqlWebSocket({ api: h.api, auth, logger, recheckMs: 50 }),
      recheckMs: 50,
    });
  });
  afterEach(async () => {
    await http.close();
  });

  async function post(token: string | undefined, query: string) {
    const res = await fetch(`${http.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  it("401 without a token, with an unknown one, and once the token is revoked in Odoo", async () => {
    const q = `mutation { reportScrap(input: { id: "t-1", product: "P", quantity: 1 }) { status } }`;
    expect((await post(undefined, q)).status).toBe(401);
    expect((await post("pbt_not-a-known-token-000000000000", q)).status).toBe(401);
    const ok = await post(MES_TOKEN, q);
    expect(ok.body.data.reportScrap.status).toBe("accepted");
    const wrongScope = await post(MES_TOKEN, `{ messages { edges { cursor } } }`);
    expect(wrongScope.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    listed = [];
    await tokens.refresh();
    expect((await post(MES_TOKEN, q)).status).toBe(401);
    expect((await post(ADMIN_TOKEN, q)).body.data.reportScrap.status).toBe("duplicate");
  });

  it("refuses an expired token at once, before the next pull", async () => {
    listed[0]!.expires_at = new Date(Date.now() + 150).toISOString();
    await tokens.refresh();
    const q = `mutation { reportScrap(input: { id: "t-2", product: "P", quantity: 1 }) { status } }`;
    expect((await post(MES_TOKEN, q)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect((await post(MES_TOKEN, q)).status).toBe(401);
  });

  it("refuses Odoo's tokens once the list is older than its maximum age, and trusts them again after a pull", async () => {
    const q = `mutation { reportScrap(input: { id: "t-3", product: "P", quantity: 1 }) { status } }`;
    expect((await post(MES_TOKEN, q)).status).toBe(200);
    odooDown = true;
    await expect(tokens.refresh()).rejects.toThrow("ECONNREFUSED");
    skewMs = 4 * 60_000; // Odoo unreachable for 4 minutes: the list is still trusted
    expect((await post(MES_TOKEN, q)).status).toBe(200);
    skewMs = 5 * 60_000 + 1_000; // beyond the 5-minute default
    const stale = await post(MES_TOKEN, q);
    expect(stale.status).toBe(401);
    expect(stale.body.errors?.[0]?.extensions).toEqual({
      code: "UNAUTHENTICATED",
      reason: "token_list_stale",
    });
    // the environment's admin token does not depend on Odoo
    expect((await post(ADMIN_TOKEN, q)).status).toBe(200);
    odooDown = false;
    await tokens.refresh();
    expect((await post(MES_TOKEN, q)).status).toBe(200);
  });

  it("streams over WebSocket with the token in connectionParams, and ends when it is revoked", async () => {
    const client = createClient({
      url: http.url.replace("http", "ws") + "/graphql",
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${MES_TOKEN}` },
      retryAttempts: 0,
    });
    const received: unknown[] = [];
    let ended: unknown;
    const done = new Promise<void>((resolve) => {
      client.subscribe(
        { query: `subscription { machineStatusChanged { workCenter status } }` },
        {
          next: (v) => void received.push(v.data),
          error: (e) => ((ended = e), resolve()),
          complete: () => resolve(),
        },
      );
    });
    await new Promise((r) => setTimeout(r, 200));
    await h.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, {
      e: [{ ...samples.machine_status, id: "ws-1" }],
    });
    for (let i = 0; i < 50 && received.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual([
      {
        machineStatusChanged: {
          workCenter: samples.machine_status.workcenter,
          status: samples.machine_status.status,
        },
      },
    ]);
    listed = [];
    await tokens.refresh();
    await done;
    expect((ended as { code?: number }).code).toBe(4403);
    await client.dispose();
  });

  it("closes a subscription stream whose reader falls behind, instead of buffering it all", async () => {
    const slow = await startHttpServer({
      port: 0,
      api: h.api,
      auth: createStaticAuthenticator({ adminToken: ADMIN_TOKEN }),
      metrics: h.metrics,
      logger,
      health: () => ({}),
      ready: () => ({ ready: true, reasons: [] }),
      maxStreamBufferBytes: 64 * 1024,
    });
    const socket = net.connect(slow.port, "127.0.0.1");
    try {
      await once(socket, "connect");
      const body = JSON.stringify({ query: "subscription { orderReleased { order } }" });
      socket.write(
        [
          "POST /graphql HTTP/1.1",
          "Host: localhost",
          `Authorization: Bearer ${ADMIN_TOKEN}`,
          "Content-Type: application/json",
          "Accept: text/event-stream",
          `Content-Length: ${Buffer.byteLength(body)}`,
          "",
          body,
        ].join("\r\n"),
      );
      socket.pause(); // a reader that does not read
      await new Promise((r) => setTimeout(r, 200));
      const big = "x".repeat(10_000);
      const sent = 3000; // 30 MB: far more than the socket buffers hold
      for (let i = 0; i < sent; i++) {
        h.bus.emit("orderReleased", {
          site: "main",
          payload: { type: "order_release", id: `r${i}`, order: `${i}-${big}` },
        });
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      let received = 0;
      socket.on("data", (d: Buffer) => (received += d.length));
      const closed = once(socket, "close");
      socket.resume();
      await closed; // the server ended it; before the bound it stayed open with all 30 MB
      expect(received).toBeLessThan(sent * big.length);
      const dropped = await h.metrics.registry.getSingleMetricAsString(
        "plant_bridge_api_streams_dropped_total",
      );
      expect(dropped).toContain('plant_bridge_api_streams_dropped_total{reason="slow_consumer"} 1');
    } finally {
      socket.destroy();
      await slow.close();
    }
  }, 30_000);

  it("ends a WebSocket subscription whose reader falls behind, instead of buffering it all", async () => {
    const small = await createApiHarness({ maxQueuedEvents: 100 });
    const auth = createStaticAuthenticator({ adminToken: ADMIN_TOKEN });
    const slow = await startHttpServer({
      port: 0,
      api: small.api,
      auth,
      metrics: small.metrics,
      logger,
      health: () => ({}),
      ready: () => ({ ready: true, reasons: [] }),
      websocket: createGraphqlWebSocket({ api: small.api, auth, logger }),
    });
    const ws = new WebSocket(slow.url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    try {
      await once(ws, "open");
      const messages: Array<{ type: string; payload?: unknown }> = [];
      ws.on("message", (m: Buffer) => messages.push(JSON.parse(m.toString()) as never));
      ws.send(
        JSON.stringify({
          type: "connection_init",
          payload: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
      );
      await waitFor("connection_ack", async () =>
        messages.some((m) => m.type === "connection_ack") ? true : undefined,
      );
      ws.send(
        JSON.stringify({
          id: "1",
          type: "subscribe",
          payload: { query: "subscription { orderReleased { order } }" },
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const socket = (ws as unknown as { _socket: net.Socket })._socket;
      socket.pause(); // a reader that does not read: the server's sends wait
      const big = "x".repeat(10_000);
      for (let i = 0; i < 3000; i++) {
        small.bus.emit("orderReleased", {
          site: "main",
          payload: { type: "order_release", id: `w${i}`, order: `${i}-${big}` },
        });
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      socket.resume();
      await waitFor(
        "the subscription's end",
        async () =>
          messages.some((m) => m.type === "error" || m.type === "complete") ? true : undefined,
        20_000,
      );
      const end = messages.find((m) => m.type === "error");
      expect(JSON.stringify(end?.payload)).toContain("SLOW_CONSUMER");
      // what reached the reader is far less than what was published
      expect(messages.filter((m) => m.type === "next").length).toBeLessThan(3000);
      expect(
        await small.metrics.registry.getSingleMetricAsString(
          "plant_bridge_api_streams_dropped_total",
        ),
      ).toContain('plant_bridge_api_streams_dropped_total{reason="slow_consumer"} 1');
    } finally {
      ws.terminate();
      await slow.close();
      await small.close();
    }
  }, 30_000);

  it("refuses connections beyond the cap at once, and serves again once one closes", async () => {
    const capped = await startHttpServer({
      port: 0,
      api: h.api,
      auth: createStaticAuthenticator({ adminToken: ADMIN_TOKEN }),
      metrics: h.metrics,
      logger,
      health: () => ({}),
      ready: () => ({ ready: true, reasons: [] }),
      maxConnections: 2,
    });
    const idle = [net.connect(capped.port, "127.0.0.1"), net.connect(capped.port, "127.0.0.1")];
    try {
      await Promise.all(idle.map((s) => once(s, "connect")));
      await new Promise((r) => setTimeout(r, 100));
      const third = net.connect(capped.port, "127.0.0.1");
      third.on("error", () => undefined);
      await once(third, "close"); // dropped by the server without an answer
      idle[0]!.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${capped.url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      idle.forEach((s) => s.destroy());
      await capped.close();
    }
  });

  it("closes a WebSocket without a valid token before any operation", async () => {
    const client = createClient({
      url: http.url.replace("http", "ws") + "/graphql",
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription { eventProcessed { status } }` },
        { next: () => undefined, error: resolve, complete: () => resolve(undefined) },
      );
    });
    expect((error as { code?: number }).code).toBe(4403);
    await client.dispose();
  });

  it("refuses an abusive document over WebSocket too", async () => {
    const client = createClient({
      url: http.url.replace("http", "ws") + "/graphql",
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
      retryAttempts: 0,
    });
    const aliased = `subscription { ${Array.from({ length: 30 }, (_, i) => `a${i}: eventProcessed { status }`).join(" ")} }`;
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: aliased },
        { next: () => undefined, error: resolve, complete: () => resolve(undefined) },
      );
    });
    expect(Array.isArray(error) && (error as Array<{ message: string }>)[0]!.message).toBeTruthy();
    await client.dispose();
  });
});

async function readSse(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<unknown[]> {
  const decoder = new TextDecoder();
  let buffer = "";
  const out: unknown[] = [];
  const deadline = Date.now() + 5000;
  while (out.length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim())
        .join("");
      if (data) out.push((JSON.parse(data) as { data: unknown }).data);
    }
  }
  return out;
}
