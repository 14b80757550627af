/**
 * The Odoo-backed reads one by one, in-process (yoga.fetch): qualityResults,
 * maintenanceRequests, lot (genealogy), productionOrder(name), workCenter(key). Each checks what
 * it answers, what it asked Odoo (kwargs in docs/odoo-api.md's shape: a stub, like Odoo, refuses
 * unknown filter fields) and how many calls that took, and refuses a token without its scope
 * before any Odoo call. The real Odoo answers these shapes in test/e2e/graphql-odoo.test.ts.
 */
import type { Principal } from "../../sidecar/src/contracts/http.js";
import { createOdooReader } from "../../sidecar/src/api/odoo-reader.js";
import { PermanentError } from "../../sidecar/src/errors.js";
import { createApiHarness, type ApiHarness } from "../helpers/api-harness.js";

type Kwargs = Record<string, unknown>;

const product = (reference: string, tracking = "lot") => ({
  reference,
  name: `Product ${reference}`,
  tracking,
});

function quality(id: number, over: Record<string, unknown> = {}) {
  return {
    id,
    test: "torque",
    result: "fail",
    value: "4.2",
    occurred_at: "2026-11-26T08:00:00+00:00",
    order: "WH/MO/00001",
    lot: "FIN-1",
    product: "FURN_7800",
    hold: true,
    hold_state: "held",
    released_at: null,
    ...over,
  };
}

function record(id: number, over: Record<string, unknown> = {}) {
  return {
    id,
    kind: "certificate_of_conformity",
    title: "CoC 2026-0001",
    occurred_at: "2026-11-27T09:00:00+00:00",
    lot: "FIN-1",
    product: "FURN_7800",
    order: null,
    delivery: null,
    customer: "C-0042",
    sha256: "a".repeat(64),
    uri: null,
    media_type: "text/plain",
    size: 24,
    ...over,
  };
}

/**
 * Answers `plant_bridge.api.read_*` in Odoo's recorded shapes. `components` is how many component
 * lots went into the finished lot FIN-1 (each comes from its own order, so genealogy fans out).
 */
function stubOdoo(components = 2) {
  const calls: Array<{ method: string; kwargs: Kwargs }> = [];
  const componentLots = Array.from({ length: components }, (_, i) => `C-${i + 1}`);
  const order = (name: string) => ({
    name,
    state: name === "WH/MO/00001" ? "progress" : "done",
    product: product("FURN_7800"),
    uom: "Units",
    quantity_planned: 3,
    quantity_produced: 1,
    quantity_producing: 1,
    quantity_scrapped: 0,
    planned_start: "2026-11-26T08:00:00+00:00",
    planned_end: "2026-11-26T12:00:00+00:00",
    deadline: null,
    origin: "S00042",
    on_hold: true,
  });
  const workcenters = [
    {
      key: "DR1",
      name: "Drill 1",
      code: "DR1",
      status: "running",
      status_since: "2026-11-26T06:00:00+00:00",
      status_at: "2026-11-26T06:00:00+00:00",
      counters: { good: 10 },
      working_state: "normal",
      current_downtime: null,
      equipment: ["Drill press #1"],
      oee_target: 85,
    },
    {
      key: "Assembly 1",
      name: "Assembly 1",
      code: null,
      status: "down",
      status_since: "2026-11-26T07:00:00+00:00",
      status_at: "2026-11-26T07:00:00+00:00",
      counters: null,
      working_state: "blocked",
      current_downtime: {
        workcenter: "Assembly 1",
        reason: "Equipment Failure",
        loss_type: "availability",
        start: "2026-11-26T07:00:00+00:00",
        end: null,
        duration: 42.5,
        description: "belt",
      },
      equipment: [],
      oee_target: null,
    },
  ];
  const lot = (name: string) => {
    if (name === "FIN-1")
      return {
        name,
        product: product("FURN_7800"),
        on_hold: true,
        produced_by: ["WH/MO/00001"],
        components: componentLots.map((c) => ({
          order: "WH/MO/00001",
          lot: c,
          product: product("FURN_0269"),
          quantity: 1.5,
        })),
        used_in: [
          {
            kind: "delivery",
            reference: "WH/OUT/00007",
            quantity: 1,
            date: "2026-11-27T10:00:00+00:00",
            lots: [],
          },
        ],
        quality: [quality(7)],
        records: [record(3)],
        nonconformances: [
          {
            id: 4,
            defect: "porosity",
            disposition: "rework",
            quantity: 1,
            occurred_at: "2026-11-27T08:00:00+00:00",
            order: "WH/MO/00001",
            lot: "FIN-1",
            product: "FURN_7800",
            approved_by: null,
            quality_result: 7,
            reference: "UB/00002",
          },
        ],
      };
    if (!componentLots.includes(name)) return undefined;
    return {
      name,
      product: product("FURN_0269"),
      on_hold: false,
      produced_by: [`WH/MO/1${name.slice(2).padStart(4, "0")}`],
      components: [],
      used_in: [
        {
          kind: "production",
          reference: "WH/MO/00001",
          quantity: 1.5,
          date: "2026-11-26T09:00:00+00:00",
          lots: ["FIN-1"],
        },
      ],
      quality: [],
    };
  };
  /** Odoo's check_filter: an unknown filter field is a 422. */
  const checkFilter = (method: string, kw: Kwargs, allowed: string[]) => {
    const unknown = Object.keys((kw.filter ?? {}) as object).filter((k) => !allowed.includes(k));
    if (unknown.length)
      throw new PermanentError(
        "odoo_rejected",
        `plant_bridge.api.${method}: Unknown filter field(s): ${unknown.join(", ")}.`,
      );
  };
  const paged = <T extends { id: number }>(rows: T[], kw: Kwargs) => {
    const after = kw.after as number | undefined;
    const pool = rows.filter((r) => after === undefined || r.id < after);
    const limit = kw.limit as number;
    return { items: pool.slice(0, limit), has_more: pool.length > limit };
  };
  const answers: Record<string, (kw: Kwargs) => unknown> = {
    read_orders: (kw) => {
      checkFilter("read_orders", kw, [
        "states",
        "product",
        "names",
        "workcenter",
        "startFrom",
        "startTo",
      ]);
      const asked = (kw.filter as { names?: string[] }).names ?? [];
      const names = asked.filter((n) => n === "WH/MO/00001" || /^WH\/MO\/1\d{4}$/.test(n));
      // like Odoo, an order is found by the key it was released with: WH/MO/00012 was
      // renamed WH/MO/00012-001 by a split
      const renamed = asked.includes("WH/MO/00012")
        ? [{ ...order("WH/MO/00012-001"), key: "WH/MO/00012" }]
        : [];
      return { orders: [...names.map(order), ...renamed], has_more: false };
    },
    read_order_details: (kw) =>
      (kw.names as string[]).map((name) => ({
        name,
        components: [
          {
            product: product("FURN_0269"),
            uom: "Units",
            quantity_planned: 3,
            quantity_reserved: 1.5,
            quantity_consumed: 1.5,
            state: "partially_available",
            lots: [{ lot: "C-1", quantity: 1.5 }],
          },
        ],
        work_orders: ["DR1", "Assembly 1"].map((workcenter, i) => ({
          name: `Operation ${i + 1}`,
          workcenter,
          state: i ? "ready" : "progress",
          sequence: 10 * (i + 1),
          planned_start: null,
          planned_end: null,
          started_at: i ? null : "2026-11-26T08:05:00+00:00",
          finished_at: null,
          duration_expected: 60,
          duration: i ? 0 : 12.5,
          quantity_produced: 0,
        })),
        finished_lots: ["FIN-1"],
        quality: [quality(7, { order: name })],
      })),
    read_workcenters: (kw) => {
      const names = kw.names as string[] | undefined;
      return workcenters.filter(
        (w) => !names || names.includes(w.name) || (w.code && names.includes(w.code)),
      );
    },
    read_oee: (kw) =>
      (kw.names as string[]).map((key) => ({
        key,
        from: kw.date_from,
        to: kw.date_to,
        minutes: { productive: 300, performance: 60, quality: 30, availability: 90 },
        oee: 62.5,
        productive_time: 5,
        blocked_time: 3,
        performance: 75,
        work_orders: { expected: 240, actual: 320 },
      })),
    read_lots: (kw) => (kw.names as string[]).map(lot).filter((l) => l !== undefined),
    read_quality_results: (kw) => {
      checkFilter("read_quality_results", kw, ["order", "lot", "result", "holdState"]);
      return paged(
        [
          quality(12),
          quality(11, { result: "pass", hold: false, hold_state: "none", value: null }),
          quality(10, {
            hold_state: "released",
            released_at: "2026-11-26T09:30:00+00:00",
          }),
        ],
        kw,
      );
    },
    read_records: (kw) => {
      checkFilter("read_records", kw, [
        "lot",
        "order",
        "delivery",
        "kind",
        "customer",
        "shippedTo",
      ]);
      return paged(
        [record(9, { kind: "test_report", uri: "s3://qa/9.pdf", size: null }), record(3)],
        kw,
      );
    },
    read_maintenance_requests: (kw) => {
      checkFilter("read_maintenance_requests", kw, ["workcenter", "equipment", "open"]);
      return paged(
        [
          {
            id: 5,
            name: "Noise on spindle",
            kind: "corrective",
            stage: "New Request",
            done: false,
            workcenter: "DR1",
            equipment: "Drill press #1",
            requested_at: "2026-11-26T08:10:00+00:00",
            scheduled_at: null,
            description: "noise",
          },
          {
            id: 3,
            name: "Monthly check",
            kind: "preventive",
            stage: "In Progress",
            done: false,
            workcenter: "DR1",
            equipment: null,
            requested_at: "2026-11-01T08:00:00+00:00",
            scheduled_at: "2026-11-28T06:00:00+00:00",
            description: null,
          },
        ],
        kw,
      );
    },
  };
  return {
    calls,
    methods: () => calls.map((c) => c.method).sort(),
    count: (method: string) => calls.filter((c) => c.method === method).length,
    client: {
      async call<T>(_model: string, method: string, kwargs: Kwargs = {}) {
        calls.push({ method, kwargs: structuredClone(kwargs) });
        await new Promise((r) => setTimeout(r, 1));
        return answers[method]!(kwargs) as T;
      },
    },
  };
}

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(odoo: ReturnType<typeof stubOdoo>) {
  h = await createApiHarness({ reader: createOdooReader({ client: odoo.client }) });
  return h;
}

const only = (...scopes: string[]): Principal => ({ name: "t", scopes });

describe("qualityResults", () => {
  const Q = `query($f: QualityResultFilter, $a: String) {
    qualityResults(filter: $f, first: 2, after: $a) {
      edges { node { id test result value occurredAt order lot product hold holdState releasedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  it("pages newest first and sends the filter to Odoo as it reads it", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const f = { order: "WH/MO/00001", result: "fail", holdState: "held" };
    const first = await api.gql(Q, { f }, only("read:quality"));
    expect(first.errors).toBeUndefined();
    expect(first.data.qualityResults.edges.map((e: { node: unknown }) => e.node)).toEqual([
      {
        id: "12",
        test: "torque",
        result: "fail",
        value: "4.2",
        occurredAt: "2026-11-26T08:00:00.000Z",
        order: "WH/MO/00001",
        lot: "FIN-1",
        product: "FURN_7800",
        hold: true,
        holdState: "held",
        releasedAt: null,
      },
      expect.objectContaining({ id: "11", result: "pass", value: null, holdState: "none" }),
    ]);
    expect(first.data.qualityResults.pageInfo.hasNextPage).toBe(true);
    const rest = await api.gql(
      Q,
      { f, a: first.data.qualityResults.pageInfo.endCursor },
      only("read:quality"),
    );
    expect(rest.data.qualityResults.edges).toEqual([
      {
        node: expect.objectContaining({
          id: "10",
          holdState: "released",
          releasedAt: "2026-11-26T09:30:00.000Z",
        }),
      },
    ]);
    expect(rest.data.qualityResults.pageInfo.hasNextPage).toBe(false);
    // the site never travels inside the filter; the cursor is the last row's Odoo id
    expect(odoo.calls).toEqual([
      { method: "read_quality_results", kwargs: { site: "main", filter: f, limit: 2 } },
      { method: "read_quality_results", kwargs: { site: "main", filter: f, limit: 2, after: 11 } },
    ]);
  });

  it("needs read:quality, and the site must be the token's", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const wrong = await api.gql(Q, {}, only("read:orders", "read:lots"));
    expect(wrong.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(wrong.data).toBeNull();
    const otherSite = await api.gql(
      Q,
      { f: { site: "main" } },
      { name: "north", scopes: ["read:quality"], sites: ["north"] },
    );
    expect(otherSite.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(odoo.calls).toEqual([]);
  });
});

describe("complianceRecords", () => {
  const Q = `query($f: ComplianceRecordFilter, $a: String) {
    complianceRecords(filter: $f, first: 1, after: $a) {
      edges { node { id kind title occurredAt lot product order delivery customer sha256 uri mediaType size } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  it("answers every record for what went to a customer, in pages, the filter as Odoo reads it", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const f = { shippedTo: "C-0042", kind: "test_report" };
    const first = await api.gql(Q, { f });
    expect(first.errors).toBeUndefined();
    expect(first.data.complianceRecords.edges[0].node).toEqual({
      id: "9",
      kind: "test_report",
      title: "CoC 2026-0001",
      occurredAt: "2026-11-27T09:00:00.000Z",
      lot: "FIN-1",
      product: "FURN_7800",
      order: null,
      delivery: null,
      customer: "C-0042",
      sha256: "a".repeat(64),
      uri: "s3://qa/9.pdf",
      mediaType: "text/plain",
      size: null,
    });
    const rest = await api.gql(Q, { f, a: first.data.complianceRecords.pageInfo.endCursor });
    expect(
      rest.data.complianceRecords.edges.map((e: { node: { id: string } }) => e.node.id),
    ).toEqual(["3"]);
    expect(odoo.calls).toEqual([
      { method: "read_records", kwargs: { site: "main", filter: f, limit: 1 } },
      { method: "read_records", kwargs: { site: "main", filter: f, limit: 1, after: 9 } },
    ]);
  });

  it("lists a lot's records and nonconformances with its genealogy, and needs read:quality for them", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const q = `{ lot(name: "FIN-1") { name records { id kind sha256 customer }
      nonconformances { id defect disposition quantity qualityResult reference } } }`;
    const ok = await api.gql(q);
    expect(ok.data.lot.records).toEqual([
      { id: "3", kind: "certificate_of_conformity", sha256: "a".repeat(64), customer: "C-0042" },
    ]);
    expect(ok.data.lot.nonconformances).toEqual([
      {
        id: "4",
        defect: "porosity",
        disposition: "rework",
        quantity: 1,
        qualityResult: "7",
        reference: "UB/00002",
      },
    ]);
    const denied = await api.gql(q, {}, only("read:lots"));
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const none = await api.gql(Q, {}, only("read:lots"));
    expect(none.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});

describe("maintenanceRequests", () => {
  const Q = `query($f: MaintenanceRequestFilter) {
    maintenanceRequests(filter: $f) {
      edges { node { id name kind stage done workCenter equipment requestedAt scheduledAt description } }
      pageInfo { hasNextPage }
    }
  }`;

  it("answers the site's requests, the work center filter spelled as Odoo reads it", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(
      Q,
      { f: { workCenter: "DR1", open: true, equipment: null } },
      only("read:maintenance"),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.maintenanceRequests).toEqual({
      edges: [
        {
          node: {
            id: "5",
            name: "Noise on spindle",
            kind: "corrective",
            stage: "New Request",
            done: false,
            workCenter: "DR1",
            equipment: "Drill press #1",
            requestedAt: "2026-11-26T08:10:00.000Z",
            scheduledAt: null,
            description: "noise",
          },
        },
        {
          node: expect.objectContaining({
            id: "3",
            kind: "preventive",
            equipment: null,
            scheduledAt: "2026-11-28T06:00:00.000Z",
          }),
        },
      ],
      pageInfo: { hasNextPage: false },
    });
    expect(odoo.calls).toEqual([
      {
        method: "read_maintenance_requests",
        kwargs: { site: "main", filter: { workcenter: "DR1", open: true }, limit: 20 },
      },
    ]);
  });

  it("needs read:maintenance", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(Q, {}, only("read:workcenters", "read:quality"));
    expect(r.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(r.data).toBeNull();
    expect(odoo.calls).toEqual([]);
  });
});

describe("lot (genealogy)", () => {
  const Q = `query($n: String!) {
    lot(name: $n) {
      name onHold product { reference tracking }
      producedBy { name state }
      components {
        order lotName quantity product { reference }
        lot { name producedBy { name } usedIn { kind reference quantity order { name } producedLots { name onHold } } }
      }
      usedIn { kind reference quantity date order { name } producedLots { name } }
      qualityResults { id result holdState }
    }
  }`;
  const READ_ALL = only("read:lots", "read:orders");

  it.each([2, 20])(
    "walks %i component lots back and forth in the same Odoo calls",
    async (components) => {
      const odoo = stubOdoo(components);
      const api = await harness(odoo);
      const r = await api.gql(Q, { n: "FIN-1" }, READ_ALL);
      expect(r.errors).toBeUndefined();
      const lot = r.data.lot;
      expect(lot).toMatchObject({
        name: "FIN-1",
        onHold: true,
        product: { reference: "FURN_7800", tracking: "lot" },
        producedBy: [{ name: "WH/MO/00001", state: "progress" }],
        usedIn: [
          {
            kind: "delivery",
            reference: "WH/OUT/00007",
            quantity: 1,
            date: "2026-11-27T10:00:00.000Z",
            order: null,
            producedLots: [],
          },
        ],
        qualityResults: [{ id: "7", result: "fail", holdState: "held" }],
      });
      expect(lot.components).toHaveLength(components);
      expect(lot.components[1]).toEqual({
        order: "WH/MO/00001",
        lotName: "C-2",
        quantity: 1.5,
        product: { reference: "FURN_0269" },
        lot: {
          name: "C-2",
          producedBy: [{ name: "WH/MO/10002" }],
          usedIn: [
            {
              kind: "production",
              reference: "WH/MO/00001",
              quantity: 1.5,
              order: { name: "WH/MO/00001" },
              producedLots: [{ name: "FIN-1", onHold: true }],
            },
          ],
        },
      });
      // one read_lots for the lot, one for all its component lots (FIN-1 again comes from the
      // request's cache), one read_orders per level of orders: the same count for 2 or 20 lots
      expect(odoo.methods()).toEqual(["read_lots", "read_lots", "read_orders", "read_orders"]);
      const lotCalls = odoo.calls.filter((c) => c.method === "read_lots");
      expect(lotCalls[1]!.kwargs.names).toHaveLength(components);
      const orderCalls = odoo.calls.filter((c) => c.method === "read_orders");
      expect((orderCalls[1]!.kwargs.filter as { names: string[] }).names).toHaveLength(components);
    },
  );

  it("answers null for an unknown lot", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(`{ lot(name: "NOPE") { name } }`, {}, only("read:lots"));
    expect(r).toMatchObject({ status: 200, data: { lot: null } });
    expect(r.errors).toBeUndefined();
  });

  it("needs read:lots, and read:orders for the orders inside", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const none = await api.gql(Q, { n: "FIN-1" }, only("read:orders"));
    expect(none.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(none.data).toEqual({ lot: null });
    expect(odoo.calls).toEqual([]);
    const partial = await api.gql(
      `{ lot(name: "FIN-1") { name producedBy { name } } }`,
      {},
      only("read:lots"),
    );
    expect(partial.data.lot).toBeNull(); // producedBy is non-null: the error bubbles up
    expect(partial.errors?.[0]).toMatchObject({
      path: ["lot", "producedBy"],
      extensions: { code: "FORBIDDEN" },
    });
    expect(odoo.methods()).toEqual(["read_lots"]);
  });
});

describe("productionOrder(name)", () => {
  const Q = `query($a: String!, $b: String!, $c: String!) {
    a: productionOrder(name: $a) { ...order }
    b: productionOrder(name: $b) { ...order }
    c: productionOrder(name: $c) { name }
  }
  fragment order on ProductionOrder {
    name site state origin onHold uom plannedStart
    product { reference }
    quantity { planned producing produced scrapped }
    components { product { reference } quantityPlanned quantityReserved quantityConsumed state lots { name quantity } }
    workOrders { operation sequence state startedAt actualMinutes workCenterKey workCenter { key status } }
    finishedLots { name onHold }
    qualityResults { id order }
  }`;

  it("answers an order with its details, batching every order of the request", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(
      Q,
      { a: "WH/MO/00001", b: "WH/MO/10001", c: "WH/MO/NOPE" },
      only("read:orders", "read:lots", "read:quality", "read:workcenters"),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.a).toEqual({
      name: "WH/MO/00001",
      site: "main",
      state: "progress",
      origin: "S00042",
      onHold: true,
      uom: "Units",
      plannedStart: "2026-11-26T08:00:00.000Z",
      product: { reference: "FURN_7800" },
      quantity: { planned: 3, producing: 1, produced: 1, scrapped: 0 },
      components: [
        {
          product: { reference: "FURN_0269" },
          quantityPlanned: 3,
          quantityReserved: 1.5,
          quantityConsumed: 1.5,
          state: "partially_available",
          lots: [{ name: "C-1", quantity: 1.5 }],
        },
      ],
      workOrders: [
        {
          operation: "Operation 1",
          sequence: 10,
          state: "progress",
          startedAt: "2026-11-26T08:05:00.000Z",
          actualMinutes: 12.5,
          workCenterKey: "DR1",
          workCenter: { key: "DR1", status: "running" },
        },
        {
          operation: "Operation 2",
          sequence: 20,
          state: "ready",
          startedAt: null,
          actualMinutes: 0,
          workCenterKey: "Assembly 1",
          workCenter: { key: "Assembly 1", status: "down" },
        },
      ],
      finishedLots: [{ name: "FIN-1", onHold: true }],
      qualityResults: [{ id: "7", order: "WH/MO/00001" }],
    });
    expect(r.data.b.name).toBe("WH/MO/10001");
    expect(r.data.c).toBeNull();
    // three orders, two with details: one call per kind, each with every key of the request
    expect(odoo.methods()).toEqual([
      "read_lots",
      "read_order_details",
      "read_orders",
      "read_workcenters",
    ]);
    const byMethod = Object.fromEntries(odoo.calls.map((c) => [c.method, c.kwargs]));
    expect((byMethod.read_orders!.filter as { names: string[] }).names.sort()).toEqual([
      "WH/MO/00001",
      "WH/MO/10001",
      "WH/MO/NOPE",
    ]);
    expect((byMethod.read_order_details!.names as string[]).sort()).toEqual([
      "WH/MO/00001",
      "WH/MO/10001",
    ]);
    expect((byMethod.read_workcenters!.names as string[]).sort()).toEqual(["Assembly 1", "DR1"]);
    expect(byMethod.read_lots!.names).toEqual(["FIN-1"]);
  });

  it("productionOrders sends its work center filter as Odoo reads it", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(
      `{ productionOrders(filter: { workCenter: "DR1", names: ["WH/MO/00001"], startFrom: "2026-11-26T00:00:00Z" }) { edges { node { name } } } }`,
      {},
      only("read:orders"),
    );
    expect(r.data.productionOrders.edges).toEqual([{ node: { name: "WH/MO/00001" } }]);
    expect(odoo.calls[0]!.kwargs.filter).toEqual({
      names: ["WH/MO/00001"],
      workcenter: "DR1",
      startFrom: "2026-11-26T00:00:00.000Z",
    });
  });

  it("finds an order by the key it was released with, with the events sent under that key", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const event = (id: string, order: string) => ({
      id,
      type: "production",
      site: "main",
      occurredAt: "2026-11-26T08:00:00Z",
      order,
      quantity: 1,
    });
    await api.gql(`mutation($e: [JSON!]!) { submitEvents(events: $e) { id } }`, {
      e: [event("k-1", "WH/MO/00012"), event("k-2", "WH/MO/00001")],
    });
    const r = await api.gql(
      `{ productionOrder(name: "WH/MO/00012") { name orderKey messages { edges { node { eventId } } } } }`,
      {},
      only("read:orders", "read:messages"),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.productionOrder).toEqual({
      name: "WH/MO/00012-001",
      orderKey: "WH/MO/00012",
      messages: { edges: [{ node: { eventId: "k-1" } }] },
    });
    const plain = await api.gql(
      `{ productionOrder(name: "WH/MO/00001") { name orderKey } }`,
      {},
      only("read:orders"),
    );
    // an order Odoo answers without a key (an addon before order keys) is known by its name
    expect(plain.data.productionOrder).toEqual({ name: "WH/MO/00001", orderKey: "WH/MO/00001" });
  });

  it("needs read:orders (and each nested field its own scope)", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const r = await api.gql(
      `{ productionOrder(name: "WH/MO/00001") { name } }`,
      {},
      only("read:lots", "read:workcenters"),
    );
    expect(r.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(r.data).toEqual({ productionOrder: null });
    expect(odoo.calls).toEqual([]);
    const nested = await api.gql(
      `{ productionOrder(name: "WH/MO/00001") { name qualityResults { id } } }`,
      {},
      only("read:orders"),
    );
    expect(nested.errors?.[0]).toMatchObject({
      path: ["productionOrder", "qualityResults"],
      extensions: { code: "FORBIDDEN" },
    });
  });
});

describe("workCenter(key)", () => {
  const Q = `query($from: DateTime!, $to: DateTime!) {
    byCode: workCenter(key: "DR1") { ...wc }
    byName: workCenter(key: "Drill 1") { key }
    blocked: workCenter(key: "Assembly 1") { ...wc }
    unknown: workCenter(key: "Nope") { key }
  }
  fragment wc on WorkCenter {
    key name code site status statusSince statusAt counters workingState equipment oeeTarget
    currentDowntime { workCenter reason lossType start end durationMinutes description }
    oee(from: $from, to: $to) {
      availability performance quality oee productiveMinutes blockedHours workOrderPerformance
    }
  }`;
  const period = { from: "2026-11-26T00:00:00Z", to: "2026-11-26T08:00:00Z" };

  it("answers Odoo's record under its code or name, overlaid with the sidecar's live state", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    // a newer machine_status event, durable in this sidecar but not yet in Odoo
    const sent = await api.gql(
      `mutation { reportMachineStatus(input: { id: "ms-1", workCenter: "Drill 1", status: down,
        occurredAt: "2026-11-26T09:00:00Z", counters: { good: 12, reject: 1 } }) { status } }`,
    );
    expect(sent.data.reportMachineStatus.status).toBe("accepted");
    const r = await api.gql(Q, period, only("read:workcenters"));
    expect(r.errors).toBeUndefined();
    const oee = {
      availability: 0.8125,
      performance: 0.8462,
      quality: 0.9091,
      oee: 0.625,
      productiveMinutes: 300,
      blockedHours: 3,
      workOrderPerformance: 0.75,
    };
    expect(r.data).toEqual({
      byCode: {
        key: "DR1",
        name: "Drill 1",
        code: "DR1",
        site: "main",
        status: "down",
        statusSince: "2026-11-26T09:00:00.000Z",
        statusAt: "2026-11-26T09:00:00.000Z",
        counters: { good: 12, reject: 1 },
        workingState: "normal",
        equipment: ["Drill press #1"],
        oeeTarget: 85,
        currentDowntime: null,
        oee,
      },
      byName: { key: "DR1" },
      blocked: {
        key: "Assembly 1",
        name: "Assembly 1",
        code: null,
        site: "main",
        status: "down",
        statusSince: "2026-11-26T07:00:00.000Z",
        statusAt: "2026-11-26T07:00:00.000Z",
        counters: null,
        workingState: "blocked",
        equipment: [],
        oeeTarget: null,
        currentDowntime: {
          workCenter: "Assembly 1",
          reason: "Equipment Failure",
          lossType: "availability",
          start: "2026-11-26T07:00:00.000Z",
          end: null,
          durationMinutes: 42.5,
          description: "belt",
        },
        oee,
      },
      unknown: null,
    });
    // four keys, one work center call; both OEE rows in one call
    expect(odoo.methods()).toEqual(["read_oee", "read_workcenters"]);
    const byMethod = Object.fromEntries(odoo.calls.map((c) => [c.method, c.kwargs]));
    expect((byMethod.read_workcenters!.names as string[]).sort()).toEqual([
      "Assembly 1",
      "DR1",
      "Drill 1",
      "Nope",
    ]);
    expect(byMethod.read_oee).toEqual({
      site: "main",
      names: ["DR1", "Assembly 1"],
      date_from: "2026-11-26T00:00:00.000Z",
      date_to: "2026-11-26T08:00:00.000Z",
    });
  });

  it("needs read:workcenters, and the site must be the token's", async () => {
    const odoo = stubOdoo();
    const api = await harness(odoo);
    const wrong = await api.gql(`{ workCenter(key: "DR1") { key } }`, {}, only("read:machines"));
    expect(wrong.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(wrong.data).toEqual({ workCenter: null });
    const otherSite = await api.gql(
      `{ workCenter(key: "DR1", site: "main") { key } }`,
      {},
      { name: "north", scopes: ["read:workcenters"], sites: ["north"] },
    );
    expect(otherSite.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(odoo.calls).toEqual([]);
  });
});
