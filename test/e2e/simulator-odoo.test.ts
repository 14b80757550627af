/**
 * The simulated plant against a real Odoo 19 with MRP demo data and a real Mosquitto: the
 * sidecar runs as `plant-bridge start --simulate` (a child process, a fast simulation), Odoo
 * releases two orders, and the plant works them as a real one would — machines running the
 * work orders through down / up cycles and reporting downtime with its reason, two operators
 * (the addon's demo badges) setting up, running and finishing the first operation, lots and
 * serials consumed and produced. What Odoo ends with is what its own screens show: per-operator
 * time logs, downtime with reasons, an OEE that the GraphQL API gives the same, and not one
 * event refused anywhere (no dead letter in the sidecar, no rejected message in Odoo).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type PrivateBroker } from "../helpers/mosquitto.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { randomName } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const run = odooAvailable();
const SITE = "main";
const TOKEN = "e2e-admin-token-0123456789";
const MACHINES = ["Assembly 1", "Drill 1", "Assembly 2"];

let odoo: OdooServer;
let broker: PrivateBroker;

interface Msg {
  key: string;
  event_type: string;
  state: string;
  error_code: string | false;
  error_message: string | false;
}

interface TimeLog {
  workcenter_id: [number, string];
  user_id: [number, string] | false;
  loss_type: string;
  loss_id: [number, string];
  date_end: string | false;
  workorder_id: [number, string] | false;
}

async function gql<T>(port: number, query: string, variables: object = {}): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data!;
}

async function refused(): Promise<Msg[]> {
  return odoo.admin<Msg[]>("plant_bridge.message", "search_read", {
    domain: [["state", "in", ["rejected", "deferred"]]],
    fields: ["key", "event_type", "state", "error_code", "error_message"],
  });
}

async function ordersDone(ids: number[]): Promise<boolean> {
  const rows = await odoo.admin<Array<{ state: string }>>("mrp.production", "read", {
    ids,
    fields: ["state"],
  });
  return rows.every((r) => r.state === "done");
}

async function releaseOrder(code: string, quantity: number): Promise<number> {
  const [product] = await odoo.admin<number[]>("product.product", "search", {
    domain: [["default_code", "=", code]],
  });
  const [bom] = await odoo.admin<number[]>("mrp.bom", "search", {
    domain: [
      ["product_tmpl_id.default_code", "=", code],
      ["operation_ids", "!=", false],
    ],
    limit: 1,
  });
  const [id] = await odoo.admin<number[]>("mrp.production", "create", {
    vals_list: [{ product_id: product, product_qty: quantity, bom_id: bom }],
  });
  await odoo.admin("mrp.production", "action_confirm", { ids: [id] });
  return id!;
}

(run ? describe : describe.skip)("the simulated plant against a real Odoo 19", () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    odoo = await startOdoo();
    // Odoo counts time only inside a work center's working hours: without calendars the OEE
    // does not depend on the hour the suite runs
    const wcs = await odoo.admin<number[]>("mrp.workcenter", "search", {
      domain: [["name", "in", MACHINES]],
    });
    await odoo.admin("mrp.workcenter", "write", {
      ids: wcs,
      vals: { resource_calendar_id: false },
    });
  }, 900_000);

  afterAll(async () => {
    await odoo?.destroy();
    await broker?.stop();
  });

  it("produces operators, setups and down / up cycles that Odoo's OEE shows, with no event refused", async () => {
    const store = join(mkdtempSync(join(tmpdir(), "pb-sim-e2e-")), "store.db");
    const env = {
      PLANT_BRIDGE_MQTT_URL: broker.url,
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      PLANT_BRIDGE_SITE: SITE,
      PLANT_BRIDGE_NAME: randomName("sim"),
      PLANT_BRIDGE_STORE: store,
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
      PLANT_BRIDGE_POST_LINGER_MS: "100",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
      PLANT_BRIDGE_OUTBOUND_POLL_SECONDS: "1",
      PLANT_BRIDGE_SIM_RATE: "6",
      PLANT_BRIDGE_SIM_MACHINES: String(MACHINES.length),
    };
    let sidecar: SidecarProcess = await startSidecarProcess(env, ["start", "--simulate"]);
    let orders: number[] = [];
    try {
      // a table top (serial, one operation the operators work) and drawers (lot, their
      // components from reserved lots, three operations on two machines)
      orders = [await releaseOrder("FURN_8522", 4), await releaseOrder("FURN_8855", 6)];
      await waitFor(
        "both orders done in Odoo",
        async () => ((await ordersDone(orders)) ? true : undefined),
        300_000,
        1000,
      );
      // a down / up cycle on the machines, reported as downtime with its reason
      await waitFor(
        "downtime reported on every machine",
        async () => {
          const logs = await odoo.admin<TimeLog[]>("mrp.workcenter.productivity", "search_read", {
            domain: [
              ["workcenter_id.name", "in", MACHINES],
              ["loss_type", "=", "availability"],
              ["description", "=like", "simulated %"],
            ],
            fields: ["workcenter_id"],
          });
          return new Set(logs.map((l) => l.workcenter_id[1])).size === MACHINES.length
            ? true
            : undefined;
        },
        180_000,
        1000,
      );
    } finally {
      await sidecar.kill("SIGTERM");
    }
    // what the simulation published and the sidecar took in is posted by a sidecar without it
    sidecar = await startSidecarProcess(env, ["start"]);
    try {
      const live = await waitFor(
        "the sidecar's outbox drained",
        async () => {
          const d = await gql<{
            sidecar: { sites: Array<{ pending: number; deadLetters: number }> };
          }>(sidecar.httpPort, "{ sidecar { sites { site pending deadLetters } } }");
          const site = d.sidecar.sites[0]!;
          return site.pending === 0 ? site : undefined;
        },
        300_000,
        1000,
      );
      expect(live.deadLetters).toBe(0);
      expect(await refused()).toEqual([]);

      // per-operator time: B-0001 (admin) set up and ran, B-0002 (demo) ran beside them
      const logs = await odoo.admin<TimeLog[]>("mrp.workcenter.productivity", "search_read", {
        domain: [["workorder_id.production_id", "in", orders]],
        fields: ["workcenter_id", "user_id", "loss_type", "loss_id", "date_end", "workorder_id"],
      });
      const byUser = (login: string, types: string[]) =>
        logs.filter((l) => l.user_id && l.user_id[1] === login && types.includes(l.loss_type))
          .length;
      const [admin, demo] = await odoo.admin<Array<{ name: string }>>("res.users", "search_read", {
        domain: [["plant_bridge_badge", "in", ["B-0001", "B-0002"]]],
        fields: ["name"],
        order: "plant_bridge_badge",
      });
      expect(byUser(admin!.name, ["productive", "performance"])).toBeGreaterThan(0);
      expect(byUser(admin!.name, ["availability"])).toBeGreaterThan(0); // the setup
      expect(byUser(demo!.name, ["productive", "performance"])).toBeGreaterThan(0);
      expect(logs.filter((l) => !l.date_end)).toEqual([]); // done orders: no timer left running

      // the downtime carries the machine's reasons
      const downtime = await odoo.admin<TimeLog[]>("mrp.workcenter.productivity", "search_read", {
        domain: [["description", "=like", "simulated %"]],
        fields: ["loss_id", "date_end"],
      });
      expect(downtime.length).toBeGreaterThan(0);
      const reasons = new Set(downtime.map((l) => l.loss_id[1]));
      for (const reason of reasons)
        expect(["Equipment Failure", "Material Availability", "Setup and Adjustments"]).toContain(
          reason,
        );

      // Odoo's own OEE figures (the last month) are what GraphQL's oee(from, to) answers
      const to = new Date();
      const from = new Date(to);
      from.setUTCMonth(from.getUTCMonth() - 1);
      const fields = await odoo.admin<
        Array<{ name: string; oee: number; productive_time: number; blocked_time: number }>
      >("mrp.workcenter", "search_read", {
        domain: [["name", "in", MACHINES]],
        fields: ["name", "oee", "productive_time", "blocked_time"],
      });
      for (const wc of fields) {
        const d = await gql<{
          workCenter: {
            oee: { oee: number | null; productiveHours: number; blockedHours: number };
          };
        }>(
          sidecar.httpPort,
          `query($key: String!, $from: DateTime!, $to: DateTime!) { workCenter(key: $key) {
            oee(from: $from, to: $to) { oee productiveHours blockedHours } } }`,
          { key: wc.name, from: from.toISOString(), to: to.toISOString() },
        );
        expect({
          name: wc.name,
          oee: Math.round((d.workCenter.oee.oee ?? 0) * 10_000) / 100,
          productive_time: d.workCenter.oee.productiveHours,
          blocked_time: d.workCenter.oee.blockedHours,
        }).toEqual({
          name: wc.name,
          oee: wc.oee,
          productive_time: wc.productive_time,
          blocked_time: wc.blocked_time,
        });
      }
      const assembly = fields.find((f) => f.name === "Assembly 1")!;
      expect(assembly.blocked_time).toBeGreaterThan(0);
      expect(assembly.productive_time).toBeGreaterThan(0);
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 900_000);
});
