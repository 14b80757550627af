/**
 * Low-code mappings and Sparkplug B against a real Odoo 19 and a real Mosquitto: what an admin
 * configures in Odoo reaches a running sidecar without a restart, and what the plant publishes
 * lands in Odoo through it — a vendor topic mapped by JSONata, a shadow version that posts
 * nothing but reports its comparisons, Sparkplug births proposed as bindings, and a confirmed
 * binding giving Sparkplug data its work center.
 */
import mqtt, { type MqttClient } from "mqtt";
import { startMosquitto, type PrivateBroker } from "../helpers/mosquitto.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { randomName } from "../helpers/services.js";
import { startEdgeNode, type EdgeNode } from "../helpers/sparkplug-edge.js";
import { waitFor as poll } from "../helpers/wait.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const run = odooAvailable();
/** Odoo applies, reports arrive every 10 s: be patient. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined>) => poll(what, fn, 90_000, 500);
const TOKEN = "e2e-mapping-admin-token-0123456789";

let odoo: OdooServer;
let broker: PrivateBroker;
let publisher: MqttClient;
let sidecar: SidecarProcess;
let siteId: number;

interface Msg {
  key: string;
  state: string;
  event_type: string;
  origin: string;
  error_code: string | false;
  rejected_by: string | false;
  res_model: string | false;
  res_id: number | false;
  workcenter_id: [number, string] | false;
}

/** Trace rows in Odoo whose origin starts with `prefix`. */
function trace(prefix: string): Promise<Msg[]> {
  return odoo.admin<Msg[]>("plant_bridge.message", "search_read", {
    domain: [["origin", "=like", `${prefix}%`]],
    fields: [
      "key",
      "state",
      "event_type",
      "origin",
      "error_code",
      "rejected_by",
      "res_model",
      "res_id",
      "workcenter_id",
    ],
    order: "id",
  });
}

/** What the running sidecar runs (its REST view of the mappings). */
async function sidecarMappings(): Promise<Array<{ id: number; state: string; version: number }>> {
  const r = await fetch(`http://127.0.0.1:${sidecar.httpPort}/api/v1/mappings`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await r.json()) as { mappings: Array<{ id: number; state: string; version: number }> })
    .mappings;
}

/** Creates a mapping as an admin does in Odoo, and activates (or shadows) it. */
async function createMapping(
  vals: Record<string, unknown>,
  action: "action_activate" | "action_shadow",
) {
  const [id] = await odoo.admin<number[]>("plant_bridge.mapping", "create", {
    vals_list: [{ site_id: siteId, state: "draft", ...vals }],
  });
  await odoo.admin("plant_bridge.mapping", action, { ids: [id] });
  await waitFor(`the sidecar to run mapping ${id}`, async () =>
    (await sidecarMappings()).some((m) => m.id === id) ? true : undefined,
  );
  return id!;
}

(run ? describe : describe.skip)("mappings and Sparkplug B with a real Odoo 19", () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    odoo = await startOdoo();
    const sites = await odoo.admin<number[]>("plant_bridge.site", "search", {
      domain: [["code", "=", "main"]],
    });
    siteId = sites[0]!;
    publisher = await mqtt.connectAsync(broker.url, {
      clientId: randomName("e2e-pub"),
      protocolVersion: 5,
    });
    sidecar = await startSidecarProcess({
      PLANT_BRIDGE_MQTT_URL: broker.url,
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      PLANT_BRIDGE_SITE: "main",
      PLANT_BRIDGE_NAME: randomName("e2e-map"),
      PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-e2e-map-")), "store.db"),
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
      PLANT_BRIDGE_POST_LINGER_MS: "50",
      PLANT_BRIDGE_CONFIG_POLL_SECONDS: "1",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
    });
  }, 900_000);

  afterAll(async () => {
    await sidecar?.kill("SIGTERM");
    await publisher?.endAsync();
    await broker?.stop();
    await odoo?.destroy();
  }, 60_000);

  it("picks up a mapping created in Odoo without a restart; its events land in Odoo once", async () => {
    const id = await createMapping(
      {
        name: "Acme scrap",
        selector: "acme/{site}/{machine}/scrap",
        event_type: "scrap",
        expression: `{"product": part, "quantity": qty, "reason": why & " on " & $machine, "occurredAt": ts}`,
      },
      "action_activate",
    );
    const topic = "acme/main/press-1/scrap";
    const ts = Date.parse("2026-11-20T08:00:00Z");
    await publisher.publishAsync(
      topic,
      JSON.stringify({ part: "FURN_7800", qty: 2, why: "dent", ts }),
      { qos: 1 },
    );
    await publisher.publishAsync(
      topic,
      JSON.stringify({ part: "FURN_8522", qty: 1, why: "scratch", ts }),
      { qos: 1 },
    );
    await publisher.publishAsync(
      topic,
      JSON.stringify({ part: "FURN_8522", qty: 1, why: "scratch", ts }),
      { qos: 1 },
    ); // again
    await publisher.publishAsync(
      topic,
      JSON.stringify({ part: "FURN_8522", qty: -1, why: "typo", ts }),
      { qos: 1 },
    );
    const rows = await waitFor("two applied scraps and a sidecar rejection", async () => {
      const t = await trace(`${topic}#m${id}@v1`);
      return t.filter((m) => m.state === "applied").length === 2 &&
        t.some((m) => m.state === "rejected")
        ? t
        : undefined;
    });
    expect(
      rows.map((m) => [
        m.state,
        m.event_type,
        m.res_model || null,
        m.error_code || null,
        m.rejected_by || null,
      ]),
    ).toEqual([
      ["applied", "scrap", "stock.scrap", null, null],
      ["applied", "scrap", "stock.scrap", null, null],
      ["rejected", "other", null, "bad_quantity", "sidecar"],
    ]);
    const scraps = await odoo.admin<
      Array<{ scrap_qty: number; product_id: [number, string]; state: string }>
    >("stock.scrap", "read", {
      ids: rows.filter((m) => m.res_id).map((m) => m.res_id),
      fields: ["scrap_qty", "product_id", "state"],
    });
    // in product order: the two events may be posted in either order (two business objects)
    expect(
      scraps
        .map((s) => [s.scrap_qty, s.product_id[1].match(/\[(.*?)\]/)?.[1], s.state])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    ).toEqual([
      [2, "FURN_7800", "done"],
      [1, "FURN_8522", "done"],
    ]);
  }, 300_000);

  it("runs a shadow mapping beside it: reports its comparisons to Odoo, posts nothing", async () => {
    const id = await createMapping(
      {
        name: "Acme scrap alarms (trial)",
        selector: "acme/{site}/{machine}/scrap",
        event_type: "maintenance",
        expression: `qty >= 5 ? {"workcenter": "Drill 1", "kind": "corrective", "description": "scrap burst on " & $machine}`,
      },
      "action_shadow",
    );
    const topic = "acme/main/press-2/scrap";
    for (const qty of [1, 6])
      await publisher.publishAsync(
        topic,
        JSON.stringify({ part: "FURN_7800", qty, why: "burst", ts: Date.now() }),
        { qos: 1 },
      );
    const [result] = await waitFor("the shadow results in Odoo", async () => {
      const r = await odoo.admin<
        Array<{ compared: number; different: number; last_difference: string | false }>
      >("plant_bridge.mapping.shadow", "search_read", {
        domain: [["mapping_id", "=", id]],
        fields: ["compared", "different", "last_difference"],
      });
      return r[0] && r[0].compared >= 2 ? r : undefined;
    });
    expect(result!.compared).toBe(2);
    expect(JSON.parse(result!.last_difference as string)).toMatchObject({
      topic,
      active: null,
      shadow: {
        events: [
          expect.objectContaining({ type: "maintenance", description: "scrap burst on press-2" }),
        ],
      },
    });
    expect((await trace(`${topic}#m${id}@`)).length).toBe(0);
    expect(
      await odoo.admin<number>("maintenance.request", "search_count", {
        domain: [["name", "ilike", "press-2"]],
      }),
    ).toBe(0);
  }, 300_000);

  it("proposes Sparkplug births as bindings; a confirmed binding gives the data its work center", async () => {
    const group = randomName("plant");
    const node: EdgeNode = await startEdgeNode({
      url: broker.url,
      group,
      devices: { "Drill 1": [{ name: "Machine/State", alias: 1, datatype: "Int32", value: 1 }] },
    });
    try {
      await node.birth();
      const [binding] = await waitFor("the proposed binding in Odoo", async () => {
        const b = await odoo.admin<
          Array<{ id: number; state: string; workcenter_id: [number, string] | false }>
        >("plant_bridge.binding", "search_read", {
          domain: [
            ["group_id", "=", group],
            ["device", "=", "Drill 1"],
          ],
          fields: ["state", "workcenter_id"],
        });
        return b.length ? b : undefined;
      });
      expect(binding!.state).toBe("proposed");
      expect(binding!.workcenter_id && binding!.workcenter_id[1]).toBe("Drill 1");
      await odoo.admin("plant_bridge.binding", "action_confirm", { ids: [binding!.id] });
      const id = await createMapping(
        {
          name: "Sparkplug machine state",
          selector: `spBv1.0/${group}/+/{edge}/{device}`,
          event_type: "machine_status",
          expression: `$exists(values."Machine/State") ? {"workcenter": $workcenter, "status": $lookup({"1": "running", "3": "down"}, $string(values."Machine/State")), "reason": "Equipment Failure", "occurredAt": timestamp}`,
        },
        "action_activate",
      );
      await node.deviceData("Drill 1", [{ alias: 1, value: 3 }]);
      const [row] = await waitFor("the machine status applied in Odoo", async () => {
        const t = (await trace(`spBv1.0/${group}/DDATA/`)).filter((m) => m.state === "applied");
        return t.length ? t : undefined;
      });
      expect(row!.origin).toBe(`spBv1.0/${group}/DDATA/${node.edge}/Drill 1#m${id}@v1`);
      expect(row!.workcenter_id && row!.workcenter_id[1]).toBe("Drill 1");
    } finally {
      await node.close();
    }
  }, 300_000);
});
