/**
 * The GraphQL API on a real Odoo 19 with demo data: what productionOrders, lots and work centers
 * answer is what Odoo itself says (JSON-2 search_read as admin); submitEvents posts into Odoo
 * through a real sidecar process; a token created in Odoo works, and stops working once revoked.
 * Runs when ODOO_SRC has odoo-bin, else prints SKIPPED (also under PLANT_BRIDGE_REQUIRE_SERVICES).
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOdooReader } from "../../sidecar/src/api/odoo-reader.js";
import { createOdooClient } from "../../sidecar/src/odoo/client.js";
import { createApiHarness, type ApiHarness } from "../helpers/api-harness.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";

const present = odooAvailable();
const ADMIN_TOKEN = "e2e-admin-token-0123456789";

(present ? describe : describe.skip)("GraphQL on a real Odoo 19 with demo data", () => {
  let odoo: OdooServer;
  let client: OdooClient;
  let h: ApiHarness;
  let sidecar: SidecarProcess | undefined;

  beforeAll(async () => {
    odoo = await startOdoo();
    client = createOdooClient({ url: odoo.url, db: odoo.db, apiKey: odoo.apiKey });
    h = await createApiHarness({ reader: createOdooReader({ client, ttlMs: 0 }) });
  }, 900_000);

  afterAll(async () => {
    await sidecar?.kill("SIGTERM");
    await h?.close();
    await client?.close();
    await odoo?.destroy();
  }, 60_000);

  it("productionOrders answers exactly the demo MOs, with their components and work orders", async () => {
    const r = await h.gql(`{
      productionOrders(first: 50) {
        edges { node {
          name state product { reference } quantity { planned produced }
          components { product { reference } quantityPlanned quantityConsumed state lots { name } }
          workOrders { operation workCenterKey state workCenter { name } }
        } }
        pageInfo { hasNextPage }
      }
    }`);
    expect(r.errors).toBeUndefined();
    const orders = r.data.productionOrders.edges.map((e: { node: unknown }) => e.node);
    type Mo = {
      id: number;
      name: string;
      state: string;
      product_qty: number;
      qty_produced: number;
      product_id: [number, string];
    };
    const mos = await odoo.admin<Mo[]>("mrp.production", "search_read", {
      domain: [["picking_type_id.warehouse_id.code", "=", "WH"]],
      fields: ["name", "state", "product_qty", "qty_produced", "product_id"],
      order: "name desc",
    });
    expect(mos.length).toBeGreaterThanOrEqual(4);
    expect(orders.map((o: { name: string }) => o.name)).toEqual(mos.map((m) => m.name));
    type Move = {
      raw_material_production_id: [number, string];
      product_id: [number, string];
      product_uom_qty: number;
      state: string;
    };
    const moves = await odoo.admin<Move[]>("stock.move", "search_read", {
      domain: [
        ["raw_material_production_id", "in", mos.map((m) => m.id)],
        ["state", "!=", "cancel"],
      ],
      fields: ["raw_material_production_id", "product_id", "product_uom_qty", "state"],
    });
    type Wo = {
      production_id: [number, string];
      name: string;
      workcenter_id: [number, string];
      state: string;
    };
    const wos = await odoo.admin<Wo[]>("mrp.workorder", "search_read", {
      domain: [["production_id", "in", mos.map((m) => m.id)]],
      fields: ["production_id", "name", "workcenter_id", "state"],
    });
    type Product = { id: number; default_code: string | false };
    const products = new Map(
      (
        await odoo.admin<Product[]>("product.product", "search_read", {
          domain: [],
          fields: ["default_code"],
          context: { active_test: false },
        })
      ).map((p) => [p.id, p.default_code || null]),
    );
    for (const mo of mos) {
      const o = orders.find((x: { name: string }) => x.name === mo.name);
      expect(o).toMatchObject({
        state: mo.state,
        product: { reference: products.get(mo.product_id[0]) },
        quantity: { planned: mo.product_qty, produced: mo.qty_produced },
      });
      const expectedComponents = moves
        .filter((m) => m.raw_material_production_id[0] === mo.id)
        .map((m) => [products.get(m.product_id[0]), m.product_uom_qty, m.state])
        .sort();
      expect(
        o.components
          .map((c: { product: { reference: string }; quantityPlanned: number; state: string }) => [
            c.product.reference,
            c.quantityPlanned,
            c.state,
          ])
          .sort(),
      ).toEqual(expectedComponents);
      const expectedWos = wos
        .filter((w) => w.production_id[0] === mo.id)
        .map((w) => [w.name, w.workcenter_id[1], w.state])
        .sort();
      expect(
        o.workOrders
          .map((w: { operation: string; workCenter: { name: string }; state: string }) => [
            w.operation,
            w.workCenter.name,
            w.state,
          ])
          .sort(),
      ).toEqual(expectedWos);
    }
    // the done, lot-tracked demo order consumed lot-tracked components
    const done = orders.find((o: { state: string; components: unknown[] }) => o.state === "done");
    expect(
      done.components.every(
        (c: { quantityConsumed: number; lots: unknown[] }) =>
          c.quantityConsumed > 0 && c.lots.length > 0,
      ),
    ).toBe(true);
  });

  it("lot genealogy: what went into a finished lot and where its components went", async () => {
    type Mo = { name: string; lot_producing_ids: number[] };
    const [drawer] = await odoo.admin<Mo[]>("mrp.production", "search_read", {
      domain: [
        ["state", "=", "done"],
        ["lot_producing_ids", "!=", false],
      ],
      fields: ["name", "lot_producing_ids"],
      limit: 1,
    });
    const [finished] = await odoo.admin<Array<{ name: string }>>("stock.lot", "read", {
      ids: drawer!.lot_producing_ids,
      fields: ["name"],
    });
    const r = await h.gql(
      `query($n: String!) { lot(name: $n) { name producedBy { name } components { order lotName lot { name usedIn { kind reference producedLots { name } } } } } }`,
      { n: finished!.name },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.lot.producedBy).toEqual([{ name: drawer!.name }]);
    expect(r.data.lot.components.length).toBeGreaterThan(0);
    for (const c of r.data.lot.components) {
      expect(c.order).toBe(drawer!.name);
      expect(c.lot.usedIn).toContainEqual({
        kind: "production",
        reference: drawer!.name,
        producedLots: [{ name: finished!.name }],
      });
    }
  });

  it("complianceRecords: every record for the lots shipped to a customer, in one query", async () => {
    // a lot delivered to a contact of the customer, another kept in stock (Odoo's own delivery)
    const out = await odoo.shell(`
beam = env['product.product'].create({'name': 'E2E Beam', 'default_code': 'E2E_BEAM',
                                      'is_storable': True, 'tracking': 'lot'})
wh = env.ref('plant_bridge.site_main').warehouse_id
customer = env['res.partner'].create({'name': 'E2E Bridges', 'ref': 'E2E-C1', 'is_company': True})
buyer = env['res.partner'].create({'name': 'E2E Buyer', 'parent_id': customer.id})
customers = env.ref('stock.stock_location_customers')
for name in ('E2E-B1', 'E2E-B2'):
    lot = env['stock.lot'].create({'name': name, 'product_id': beam.id})
    env['stock.quant']._update_available_quantity(beam, wh.lot_stock_id, 5, lot_id=lot)
lot = env['stock.lot'].search([('name', '=', 'E2E-B1')])
picking = env['stock.picking'].create({
    'picking_type_id': wh.out_type_id.id, 'partner_id': buyer.id,
    'location_id': wh.lot_stock_id.id, 'location_dest_id': customers.id,
    'move_ids': [(0, 0, {'product_id': beam.id, 'product_uom_qty': 2,
                         'location_id': wh.lot_stock_id.id, 'location_dest_id': customers.id})]})
picking.action_confirm()
picking.move_ids.move_line_ids.unlink()
env['stock.move.line'].create(dict(picking.move_ids._prepare_move_line_vals(quantity=2), lot_id=lot.id))
picking.move_ids.picked = True
picking.button_validate()
env.cr.commit()
print('STATE=' + picking.state)
`);
    expect(out).toContain("STATE=done");
    const sha = "e".repeat(64);
    const uri = "https://qms.example/E2E-B1.pdf";
    const record = (id: string, lot: string, kind: string) => ({
      id,
      type: "record",
      site: "main",
      occurredAt: new Date().toISOString(),
      kind,
      lot,
      product: "E2E_BEAM",
      sha256: sha,
      uri,
    });
    const posted = await odoo.admin<Array<{ status: string }>>("plant_bridge.api", "post_events", {
      events: [
        record("e2e-rec-1", "E2E-B1", "certificate_of_conformity"),
        record("e2e-rec-2", "E2E-B2", "test_report"),
      ],
    });
    expect(posted.map((p) => p.status)).toEqual(["applied", "applied"]);
    const r = await h.gql(`{
      complianceRecords(filter: { shippedTo: "E2E-C1" }) { edges { node { lot kind sha256 uri } } }
      lot(name: "E2E-B2") { records { lot kind } }
    }`);
    expect(r.errors).toBeUndefined();
    expect(r.data.complianceRecords.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { lot: "E2E-B1", kind: "certificate_of_conformity", sha256: sha, uri },
    ]);
    expect(r.data.lot.records).toEqual([{ lot: "E2E-B2", kind: "test_report" }]);
  }, 300_000);

  it("workCenters answers Odoo's work centers with their live state", async () => {
    const r = await h.gql(
      `{ workCenters { edges { node { key name workingState oee(from: "2020-01-01T00:00:00Z", to: "2020-02-01T00:00:00Z") { oee } } } } }`,
    );
    expect(r.errors).toBeUndefined();
    const wcs = await odoo.admin<
      Array<{ name: string; code: string | false; working_state: string }>
    >("mrp.workcenter", "search_read", {
      domain: [],
      fields: ["name", "code", "working_state"],
    });
    expect(
      r.data.workCenters.edges.map((e: { node: { key: string } }) => e.node.key).sort(),
    ).toEqual(wcs.map((w) => w.code || w.name).sort());
    const drill = r.data.workCenters.edges.find(
      (e: { node: { name: string } }) => e.node.name === "Drill 1",
    ).node;
    expect(drill.workingState).toBe(wcs.find((w) => w.name === "Drill 1")!.working_state);
  });

  it("oee(from, to) over Odoo's own period (the last month) answers the work center's OEE figures", async () => {
    const losses = await odoo.admin<Array<{ id: number; loss_type: string }>>(
      "mrp.workcenter.productivity.loss",
      "search_read",
      { domain: [], fields: ["loss_type"] },
    );
    const loss = (type: string) => losses.find((l) => l.loss_type === type)!.id;
    const [wc] = await odoo.admin<Array<{ id: number }>>("mrp.workcenter", "search_read", {
      domain: [["name", "=", "Assembly 2"]],
      fields: ["id"],
    });
    const ago = (hours: number) =>
      new Date(Date.now() - hours * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
    // Odoo counts losses only inside the work center's working hours: without its calendar the
    // figures do not depend on the hour the suite runs (25 minutes of defects 30 hours before a
    // run at 17:25 UTC fell in the calendar's lunch break and counted 0)
    await odoo.admin("mrp.workcenter", "write", {
      ids: [wc!.id],
      vals: { resource_calendar_id: false },
    });
    // entered by hand in Odoo: 3 h productive, a 40-minute failure, 25 minutes of defects
    await odoo.admin("mrp.workcenter.productivity", "create", {
      vals_list: [
        [50, 47, "productive"],
        [47, 46 + 1 / 3, "availability"],
        [30, 30 - 25 / 60, "quality"],
      ].map(([from, to, type]) => ({
        workcenter_id: wc!.id,
        loss_id: loss(type as string),
        date_start: ago(from as number),
        date_end: ago(to as number),
      })),
    });
    const to = new Date();
    const from = new Date(to);
    from.setUTCMonth(from.getUTCMonth() - 1);
    const r = await h.gql(
      `query($from: DateTime!, $to: DateTime!) { workCenter(key: "Assembly 2") {
        oee(from: $from, to: $to) {
          oee productiveHours blockedHours workOrderExpectedMinutes workOrderMinutes
          productiveMinutes availabilityLossMinutes qualityLossMinutes
        } } }`,
      { from: from.toISOString(), to: to.toISOString() },
    );
    expect(r.errors).toBeUndefined();
    const [fields] = await odoo.admin<
      Array<{ oee: number; performance: number; productive_time: number; blocked_time: number }>
    >("mrp.workcenter", "read", {
      ids: [wc!.id],
      fields: ["oee", "performance", "productive_time", "blocked_time"],
    });
    const oee = r.data.workCenter.oee;
    expect(oee.productiveMinutes).toBeGreaterThanOrEqual(180);
    expect(oee.qualityLossMinutes).toBeGreaterThanOrEqual(25);
    expect({
      oee: Math.round(oee.oee * 10_000) / 100,
      productive_time: oee.productiveHours,
      blocked_time: oee.blockedHours,
      // Odoo's Performance field: int(100 * expected / actual), 0 without work orders done
      performance: oee.workOrderMinutes
        ? Math.trunc((100 * oee.workOrderExpectedMinutes) / oee.workOrderMinutes)
        : 0,
    }).toEqual({
      oee: fields!.oee,
      productive_time: fields!.productive_time,
      blocked_time: fields!.blocked_time,
      performance: fields!.performance,
    });
  });

  it("filters orders and maintenance requests by work center, in the field Odoo reads", async () => {
    const wos = await odoo.admin<
      Array<{ production_id: [number, string]; workcenter_id: [number, string] }>
    >("mrp.workorder", "search_read", {
      domain: [["production_id.picking_type_id.warehouse_id.code", "=", "WH"]],
      fields: ["production_id", "workcenter_id"],
    });
    expect(wos.length).toBeGreaterThan(0);
    const workCenter = wos[0]!.workcenter_id[1]; // the demo's work centers have no code
    const r = await h.gql(
      `query($wc: String!) {
        productionOrders(first: 200, filter: { workCenter: $wc }) { edges { node { name } } }
        maintenanceRequests(first: 200, filter: { workCenter: $wc }) { edges { node { workCenter } } }
      }`,
      { wc: workCenter },
    );
    expect(r.errors).toBeUndefined();
    const expected = [
      ...new Set(
        wos.filter((w) => w.workcenter_id[1] === workCenter).map((w) => w.production_id[1]),
      ),
    ].sort();
    expect(
      r.data.productionOrders.edges.map((e: { node: { name: string } }) => e.node.name).sort(),
    ).toEqual(expected);
    for (const e of r.data.maintenanceRequests.edges) expect(e.node.workCenter).toBe(workCenter);
  });

  it("refuses a site the connector is not allowed on (FORBIDDEN / CONFIG_ERROR, never 5xx)", async () => {
    const r = await h.gql(`{ productionOrders(filter: { site: "nowhere" }) { edges { cursor } } }`);
    expect(r.status).toBe(200);
    expect(["BAD_USER_INPUT", "FORBIDDEN", "CONFIG_ERROR"]).toContain(
      r.errors?.[0]?.extensions?.code,
    );
  });

  it("submitEvents through a real sidecar posts into Odoo; an Odoo token works until revoked", async () => {
    const created = await odoo.shell(`
from odoo import Command
token = env['plant_bridge.api.token']
record, value = token._generate({'name': 'e2e MES', 'scopes': 'write:events read:orders',
                                 'site_ids': [Command.set(env['plant_bridge.site'].search([('code', '=', 'main')]).ids)]})
env.cr.commit()
print(f'TOKEN={value} ID={record.id}')
`);
    const [, token, id] = /TOKEN=(\S+) ID=(\d+)/.exec(created)!;
    sidecar = await startSidecarProcess({
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      PLANT_BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-gql-e2e-")), "store.db"),
      PLANT_BRIDGE_CONFIG_POLL_SECONDS: "1",
      PLANT_BRIDGE_NAME: "gql-e2e",
    });
    const base = `http://127.0.0.1:${sidecar.httpPort}/graphql`;
    const gql = async (bearer: string, query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(base, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    // the Odoo token is known after the first pull
    const submit = `mutation($e: [JSON!]!) { submitEvents(events: $e) { id status code } }`;
    const eventId = `gql-e2e-scrap-${Date.now()}`;
    let answer = await gql(token!, submit, {
      e: [
        {
          id: eventId,
          type: "scrap",
          occurredAt: new Date().toISOString(),
          product: "FURN_7800",
          quantity: 1,
          reason: "e2e",
        },
      ],
    });
    for (let i = 0; i < 50 && answer.status === 401; i++) {
      await new Promise((r) => setTimeout(r, 200));
      answer = await gql(token!, submit, {
        e: [
          {
            id: eventId,
            type: "scrap",
            occurredAt: new Date().toISOString(),
            product: "FURN_7800",
            quantity: 1,
            reason: "e2e",
          },
        ],
      });
    }
    expect(answer.body.data.submitEvents).toEqual([
      { id: eventId, status: "accepted", code: null },
    ]);
    // Odoo has it: the trace row applied, and the validated scrap it produced
    type Message = { state: string; res_model: string; res_id: number };
    let message: Message | undefined;
    for (let i = 0; i < 100 && message?.state !== "applied"; i++) {
      [message] = await odoo.admin<Message[]>("plant_bridge.message", "search_read", {
        domain: [["key", "=", eventId]],
        fields: ["state", "res_model", "res_id"],
      });
      if (message?.state !== "applied") await new Promise((r) => setTimeout(r, 200));
    }
    expect(message).toMatchObject({ state: "applied", res_model: "stock.scrap" });
    const [scrap] = await odoo.admin<Array<{ state: string; scrap_qty: number }>>(
      "stock.scrap",
      "read",
      { ids: [message!.res_id], fields: ["state", "scrap_qty"] },
    );
    expect(scrap).toMatchObject({ state: "done", scrap_qty: 1 });
    // the same token reads orders through the sidecar; lacks the admin scope
    const orders = await gql(token!, `{ productionOrders(first: 1) { edges { node { name } } } }`);
    expect(orders.body.data.productionOrders.edges).toHaveLength(1);
    expect((await gql(token!, `{ sidecar { name } }`)).body.errors?.[0]?.extensions?.code).toBe(
      "FORBIDDEN",
    );
    // revoked in Odoo (as a manager would, through the form's button): 401 within a poll
    await odoo.admin("plant_bridge.api.token", "action_revoke", { ids: [Number(id)] });
    let status = 200;
    const deadline = Date.now() + 15_000;
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await gql(token!, `{ productionOrders(first: 1) { edges { cursor } } }`)).status;
    }
    expect(status).toBe(401);
    expect((await gql(ADMIN_TOKEN, `{ sidecar { odooUp } }`)).body.data.sidecar.odooUp).toBe(true);
  }, 120_000);
});
