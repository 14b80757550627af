/**
 * The product's main job, end to end on a real Odoo 19 with MRP demo data and a real Mosquitto:
 * what the plant publishes becomes Odoo records exactly once (also when published twice, across
 * an Odoo outage with a SIGKILLed sidecar, and when a response is lost after Odoo committed),
 * and what Odoo releases reaches the plant on the MQTT command topic and is acknowledged.
 */
import net from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { canonicalTopic, commandTopic } from "../../sidecar/src/canonical/topics.js";
import { startMosquitto, type PrivateBroker } from "../helpers/mosquitto.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { freePort, startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { randomName } from "../helpers/services.js";
import { waitFor as waitUntil } from "../helpers/wait.js";

const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000) =>
  waitUntil(what, fn, timeoutMs);

const run = odooAvailable();
const SITE = "main";
const TOKEN = "e2e-admin-token-0123456789";

interface Msg {
  key: string;
  state: string;
  attempts: number;
  res_model: string | false;
  res_id: number | false;
  error_code: string | false;
}

let odoo: OdooServer;
let broker: PrivateBroker;
let publisher: MqttClient;

function sidecarEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PLANT_BRIDGE_MQTT_URL: broker.url,
    PLANT_BRIDGE_ODOO_URL: odoo.url,
    PLANT_BRIDGE_ODOO_DB: odoo.db,
    PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
    PLANT_BRIDGE_SITE: SITE,
    PLANT_BRIDGE_NAME: randomName("e2e"),
    PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-e2e-")), "store.db"),
    PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
    PLANT_BRIDGE_POST_LINGER_MS: "50",
    PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
    PLANT_BRIDGE_OUTBOUND_POLL_SECONDS: "1",
    ...extra,
  };
}

async function publish(events: object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 100) {
    await publisher.publishAsync(canonicalTopic(SITE), JSON.stringify(events.slice(i, i + 100)), {
      qos: 1,
    });
  }
}

async function messages(keys: string[]): Promise<Msg[]> {
  return odoo.admin<Msg[]>("plant_bridge.message", "search_read", {
    domain: [["key", "in", keys]],
    fields: ["key", "state", "attempts", "res_model", "res_id", "error_code"],
  });
}

/** Waits until every key is settled in Odoo (applied or rejected). */
async function settled(keys: string[], timeoutMs?: number): Promise<Msg[]> {
  return waitFor(
    `${keys.length} events settled in Odoo`,
    async () => {
      const rows = await messages(keys);
      return rows.length === keys.length &&
        rows.every((r) => r.state === "applied" || r.state === "rejected")
        ? rows
        : undefined;
    },
    timeoutMs,
  );
}

function downtimes(
  prefix: string,
  day: string,
  n: number,
  workcenters = ["Drill 1", "Assembly 1", "Assembly 2"],
) {
  return Array.from({ length: n }, (_, i) => {
    const wc = workcenters[i % workcenters.length]!;
    const slot = Math.floor(i / workcenters.length);
    const start = new Date(`${day}T00:00:00Z`).getTime() + slot * 60_000;
    return {
      id: `${prefix}-${i}`,
      type: "downtime",
      site: SITE,
      occurredAt: new Date(start + 30_000).toISOString(),
      workcenter: wc,
      reason: "Equipment Failure",
      start: new Date(start).toISOString(),
      end: new Date(start + 30_000).toISOString(),
      description: prefix,
    };
  });
}

async function productivityCount(day: string): Promise<number> {
  return odoo.admin<number>("mrp.workcenter.productivity", "search_count", {
    domain: [
      ["date_start", ">=", `${day} 00:00:00`],
      ["date_start", "<", `${day} 23:59:59`],
    ],
  });
}

(run ? describe : describe.skip)("sidecar <-> real Odoo 19", () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    odoo = await startOdoo();
    publisher = await mqtt.connectAsync(broker.url, {
      clientId: randomName("e2e-pub"),
      protocolVersion: 5,
    });
    // Odoo 19 Community has no work center <-> equipment link: the addon adds one.
    const [equipment] = await odoo.admin<number[]>("maintenance.equipment", "search", {
      domain: [],
      limit: 1,
    });
    const [drill] = await odoo.admin<number[]>("mrp.workcenter", "search", {
      domain: [["name", "=", "Drill 1"]],
    });
    await odoo.admin("maintenance.equipment", "write", {
      ids: [equipment],
      vals: { plant_bridge_workcenter_id: drill },
    });
  }, 900_000);

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
    await odoo?.destroy();
  }, 60_000);

  it("turns one event of every type published over MQTT into the right Odoo records, each once", async () => {
    const sidecar = await startSidecarProcess(sidecarEnv());
    try {
      const at = "2026-11-20T08:00:00+00:00";
      const run = randomName("every");
      const ev = (type: string, fields: object) => ({
        id: `${run}-${type}`,
        type,
        site: SITE,
        occurredAt: at,
        ...fields,
      });
      const events = [
        ev("consumption", { order: "WH/MO/00001", product: "FURN_0269", quantity: 2 }),
        ev("workorder_status", {
          order: "WH/MO/00001",
          operation: "Manual Assembly",
          status: "started",
        }),
        ev("production", { order: "WH/MO/00001", quantity: 1 }),
        ev("scrap", { product: "FURN_8522", quantity: 1, reason: "dent" }),
        ev("downtime", {
          workcenter: "Drill 1",
          reason: "Equipment Failure",
          start: "2026-11-20T06:00:00Z",
          end: "2026-11-20T06:20:00Z",
        }),
        ev("machine_status", {
          workcenter: "Assembly 2",
          status: "down",
          reason: "Equipment Failure",
        }),
        ev("quality", { test: "torque", result: "pass", value: 12.5, order: "WH/MO/00001" }),
        ev("maintenance", {
          workcenter: "Drill 1",
          kind: "corrective",
          description: "spindle noise",
        }),
      ];
      await publish(events);
      await publish(events); // the same events again: no second posting
      const keys = events.map((e) => e.id);
      const rows = await settled(keys);
      expect(rows.map((r) => [r.key, r.state, r.error_code]).sort()).toEqual(
        keys.map((k) => [k, "applied", false]).sort(),
      );

      const byType = Object.fromEntries(rows.map((r) => [r.key.slice(run.length + 1), r]));
      const read = async (model: string, id: number | false, fields: string[]) =>
        (
          await odoo.admin<Array<Record<string, unknown>>>(model, "read", { ids: [id], fields })
        )[0]!;

      expect(byType.scrap!.res_model).toBe("stock.scrap");
      expect(await read("stock.scrap", byType.scrap!.res_id, ["state", "scrap_qty"])).toMatchObject(
        { state: "done", scrap_qty: 1 },
      );
      expect(byType.downtime!.res_model).toBe("mrp.workcenter.productivity");
      expect(
        await read("mrp.workcenter.productivity", byType.downtime!.res_id, [
          "date_start",
          "date_end",
          "workcenter_id",
        ]),
      ).toMatchObject({
        date_start: "2026-11-20 06:00:00",
        date_end: "2026-11-20 06:20:00",
        workcenter_id: [expect.any(Number), "Drill 1"],
      });
      expect(byType.consumption!.res_model).toBe("stock.move");
      expect(
        await read("stock.move", byType.consumption!.res_id, ["quantity", "picked"]),
      ).toMatchObject({ quantity: 2, picked: true });
      expect(byType.workorder_status!.res_model).toBe("mrp.workorder");
      expect(await read("mrp.workorder", byType.workorder_status!.res_id, ["state"])).toMatchObject(
        { state: "progress" },
      );
      expect(byType.production!.res_model).toBe("mrp.production");
      expect(
        await read("mrp.production", byType.production!.res_id, ["name", "qty_producing"]),
      ).toMatchObject({
        name: "WH/MO/00001",
        // what the plant reported (1), not Odoo's proposal when the work order started (3)
        qty_producing: 1,
      });
      expect(byType.maintenance!.res_model).toBe("maintenance.request");
      expect(
        await read("maintenance.request", byType.maintenance!.res_id, ["maintenance_type"]),
      ).toMatchObject({ maintenance_type: "corrective" });
      expect(byType.quality!.res_model).toBe("plant_bridge.quality.result");
      expect(
        await read("plant_bridge.quality.result", byType.quality!.res_id, ["result"]),
      ).toMatchObject({ result: "pass" });
      const [wc] = await odoo.admin<Array<{ plant_bridge_status: string }>>(
        "mrp.workcenter",
        "search_read",
        {
          domain: [["name", "=", "Assembly 2"]],
          fields: ["plant_bridge_status"],
        },
      );
      expect(wc!.plant_bridge_status).toBe("down");
      // Each key posted once (attempts 1), and the repeat was answered locally as a duplicate.
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/plant_bridge_events_duplicate_total\{site="main"\} 8/);
      expect(metrics).toMatch(/plant_bridge_events_applied_total\{site="main",type="scrap"\} 1/);
      expect(metrics).toMatch(/^plant_bridge_odoo_up 1$/m);
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 300_000);

  it("holds events of an MO that is not released yet, in order, while other events flow", async () => {
    const sidecar = await startSidecarProcess(sidecarEnv());
    try {
      const run = randomName("draft");
      const at = "2026-11-22T08:00:00+00:00";
      // WH/MO/00002 is a draft in the demo data (not released to the plant yet); CONS_89957 is one of
      // its components.
      const first = {
        id: `${run}-1`,
        type: "consumption",
        site: SITE,
        occurredAt: at,
        order: "WH/MO/00002",
        product: "CONS_89957",
        quantity: 1,
      };
      const second = {
        id: `${run}-2`,
        type: "consumption",
        site: SITE,
        occurredAt: at,
        order: "WH/MO/00002",
        product: "CONS_89957",
        quantity: 2,
      };
      const other = {
        id: `${run}-3`,
        type: "scrap",
        site: SITE,
        occurredAt: at,
        product: "FURN_8522",
        quantity: 1,
      };
      await publish([first, second, other]);
      await settled([other.id]);
      const waiting = await waitFor("both held", async () => {
        const rows = await messages([first.id, second.id]);
        return rows.length === 2 && rows.every((r) => r.state === "deferred") ? rows : undefined;
      });
      expect(waiting.map((r) => r.error_code).sort()).toEqual([
        "order_not_ready",
        "waiting_for_earlier",
      ]);
      const [mo] = await odoo.admin<number[]>("mrp.production", "search", {
        domain: [["name", "=", "WH/MO/00002"]],
      });
      await odoo.admin("mrp.production", "action_confirm", { ids: [mo] });
      const rows = await settled([first.id, second.id]);
      expect(rows.map((r) => [r.state, r.error_code])).toEqual([
        ["applied", false],
        ["applied", false],
      ]);
      const [move] = await odoo.admin<Array<{ quantity: number }>>("stock.move", "search_read", {
        domain: [
          ["raw_material_production_id", "=", mo],
          ["product_id.default_code", "=", "CONS_89957"],
        ],
        fields: ["quantity"],
      });
      expect(move!.quantity).toBe(3); // both, once each
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 300_000);

  it("applies everything exactly once across an Odoo outage and a SIGKILLed sidecar", async () => {
    const env = sidecarEnv();
    const day = "2026-10-01";
    const before = await productivityCount(day);
    let sidecar: SidecarProcess = await startSidecarProcess(env);
    const events = downtimes(randomName("outage"), day, 600);
    await publish(events.slice(0, 100));
    await settled(events.slice(0, 100).map((e) => e.id));

    await odoo.stop(); // Odoo down: the plant keeps reporting
    let restartedAt: number;
    try {
      await publish(events.slice(100, 350));
      await new Promise((r) => setTimeout(r, 1000));
      expect(await sidecar.kill("SIGKILL")).toBeNull();
      await publish(events.slice(350, 500)); // queued by the broker for the sidecar's session
      // Restarted while Odoo is still down: it runs on its cached configuration and buffers.
      sidecar = await startSidecarProcess(env);
      await publish(events.slice(500));
    } finally {
      restartedAt = Date.now();
      await odoo.restart();
    }
    try {
      const rows = await settled(
        events.map((e) => e.id),
        300_000,
      );
      const drainMs = Date.now() - restartedAt;
      console.log(
        `outage drain: ${events.length - 100} buffered events applied ${drainMs} ms after Odoo was restarted`,
      );
      expect(rows.filter((r) => r.state === "applied")).toHaveLength(events.length);
      expect((await productivityCount(day)) - before).toBe(events.length);
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 900_000);

  it("answers a retry after a lost response as duplicate, and posts nothing twice", async () => {
    // A TCP proxy that forwards the first post_events request to Odoo but cuts the connection
    // as soon as Odoo starts answering: Odoo has committed, the sidecar never hears it.
    const proxyPort = await freePort();
    let cut = 0;
    const proxy = net.createServer((client) => {
      const upstream = net.connect(odoo.port, "127.0.0.1");
      let isPost = false;
      client.on("data", (d) => {
        if (d.toString("latin1").includes("/json/2/plant_bridge.api/post_events")) isPost = true;
        upstream.write(d);
      });
      upstream.on("data", (d) => {
        if (isPost && cut === 0) {
          cut++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(d);
      });
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.end());
      upstream.on("close", () => client.end());
    });
    await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", r));
    const day = "2026-09-01";
    const before = await productivityCount(day);
    const sidecar = await startSidecarProcess(
      sidecarEnv({ PLANT_BRIDGE_ODOO_URL: `http://127.0.0.1:${proxyPort}` }),
    );
    try {
      const events = downtimes(randomName("lost"), day, 30);
      await publish(events);
      const rows = await settled(events.map((e) => e.id));
      expect(cut).toBe(1);
      expect(rows.every((r) => r.state === "applied")).toBe(true);
      expect((await productivityCount(day)) - before).toBe(events.length);
      // The sidecar settles them once its retry is answered: duplicate, Odoo's answer.
      const states = await waitFor("the sidecar settled every event", async () => {
        const r = await fetch(`http://127.0.0.1:${sidecar.httpPort}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            query:
              "{ messages(filter: { type: downtime }, first: 100) { edges { node { eventId state attempts } } } }",
          }),
        });
        const body = (await r.json()) as {
          data: {
            messages: {
              edges: Array<{ node: { eventId: string; state: string; attempts: number } }>;
            };
          };
        };
        const nodes = body.data.messages.edges.map((e) => e.node);
        return nodes.length === events.length &&
          nodes.every((n) => n.state !== "pending" && n.state !== "leased")
          ? nodes
          : undefined;
      });
      expect(states).toHaveLength(events.length);
      // The batch whose answer was lost is retried and answered duplicate; later batches apply.
      const lost = states.filter((s) => s.state === "duplicate");
      expect(lost.length).toBeGreaterThan(0);
      expect(lost.every((s) => s.attempts === 2)).toBe(true);
      expect(
        states
          .filter((s) => s.state !== "duplicate")
          .every((s) => s.state === "applied" && s.attempts === 1),
      ).toBe(true);
    } finally {
      await sidecar.kill("SIGTERM");
      proxy.close();
    }
  }, 300_000);

  it("shows a sidecar-side rejection in Odoo's exception queue; an edited replay from Odoo applies it", async () => {
    const sidecar = await startSidecarProcess(sidecarEnv());
    try {
      const id = randomName("fixme");
      const bad = {
        id,
        type: "scrap",
        site: SITE,
        occurredAt: "2026-11-21T08:00:00+00:00",
        product: "FURN_8522",
        quantity: -3,
      };
      await publisher.publishAsync(canonicalTopic(SITE), JSON.stringify(bad), { qos: 1 });
      // Reported with the next heartbeat as a rejected trace row, with its code and payload.
      const [row] = await waitFor("the rejection in Odoo", async () => {
        const rows = await odoo.admin<
          Array<{
            id: number;
            error_code: string;
            rejected_by: string;
            payload: string;
            state: string;
          }>
        >("plant_bridge.message", "search_read", {
          domain: [
            ["rejected_by", "=", "sidecar"],
            ["payload", "ilike", id],
          ],
          fields: ["error_code", "rejected_by", "payload", "state"],
        });
        return rows.length ? rows : undefined;
      });
      expect(row).toMatchObject({
        error_code: "bad_quantity",
        rejected_by: "sidecar",
        state: "rejected",
      });
      expect(JSON.parse(row!.payload)).toMatchObject({ id, quantity: -3 });
      // An operator fixes the payload and replays it from the exception queue.
      await odoo.admin("plant_bridge.message", "write", {
        ids: [row!.id],
        vals: { payload: JSON.stringify({ ...bad, quantity: 3 }) },
      });
      await odoo.admin("plant_bridge.message", "action_replay_edited", { ids: [row!.id] });
      const [applied] = await settled([id]);
      expect(applied).toMatchObject({ state: "applied", res_model: "stock.scrap" });
      const [scrap] = await odoo.admin<Array<{ scrap_qty: number; state: string }>>(
        "stock.scrap",
        "read",
        {
          ids: [applied!.res_id],
          fields: ["scrap_qty", "state"],
        },
      );
      expect(scrap).toMatchObject({ scrap_qty: 3, state: "done" });
      const replays = await waitFor("the replay acknowledged", async () => {
        const r = await odoo.admin<Array<{ state: string }>>("plant_bridge.replay", "search_read", {
          domain: [["message_id", "=", row!.id]],
          fields: ["state"],
        });
        return r[0]?.state === "done" ? r : undefined;
      });
      expect(replays).toHaveLength(1);
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 300_000);

  it("publishes a confirmed MO as an order_release on the command topic and acknowledges it", async () => {
    const sidecar = await startSidecarProcess(sidecarEnv());
    const sub = await mqtt.connectAsync(broker.url, { clientId: randomName("e2e-plant") });
    try {
      const received: Array<Record<string, unknown>> = [];
      sub.on("message", (_t, payload) =>
        received.push(JSON.parse(payload.toString()) as Record<string, unknown>),
      );
      await sub.subscribeAsync(commandTopic(SITE), { qos: 1 });
      const [product] = await odoo.admin<number[]>("product.product", "search", {
        domain: [["default_code", "=", "FURN_9666"]],
      });
      const [moId] = await odoo.admin<number[]>("mrp.production", "create", {
        vals_list: [{ product_id: product, product_qty: 4 }],
      });
      await odoo.admin("mrp.production", "action_confirm", { ids: [moId] });
      const [mo] = await odoo.admin<Array<{ name: string }>>("mrp.production", "read", {
        ids: [moId],
        fields: ["name"],
      });
      const release = await waitFor("the order_release on the command topic", async () =>
        received.find((m) => m.type === "order_release" && m.order === mo!.name),
      );
      expect(release).toMatchObject({
        site: SITE,
        order: mo!.name,
        product: "FURN_9666",
        quantity: 4,
      });
      expect(Array.isArray(release.components)).toBe(true);
      const ack = await waitFor("the acknowledgement in Odoo", async () => {
        const rows = await odoo.admin<Array<{ state: string; sink: string }>>(
          "plant_bridge.outbound",
          "search_read",
          {
            domain: [["production_id", "=", moId]],
            fields: ["state", "sink"],
          },
        );
        return rows[0]?.state === "acknowledged" ? rows[0] : undefined;
      });
      expect(ack.sink).toBe(`mqtt:${commandTopic(SITE)}`);
    } finally {
      await sub.endAsync();
      await sidecar.kill("SIGTERM");
    }
  }, 300_000);
});
