/**
 * A hold posting window against a real Odoo 19 (README "Posting windows"): configured on the
 * site in Odoo, delivered with the site configuration, honoured by the sidecar's posting worker.
 * A production event received during the hold waits (reported as held, not failed, in the
 * heartbeat snapshot; nothing in Odoo's trace yet) and is applied once the hold ends.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { startMosquitto, type PrivateBroker } from "../helpers/mosquitto.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { startSidecarProcess } from "../helpers/sidecar-process.js";
import { randomName } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const run = odooAvailable();
const SITE = "main";

let odoo: OdooServer;
let broker: PrivateBroker;
let publisher: MqttClient;

const serverTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

(run ? describe : describe.skip)("posting windows against a real Odoo", () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    odoo = await startOdoo();
    publisher = await mqtt.connectAsync(broker.url, { clientId: randomName("e2e-pub") });
  }, 900_000);

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.stop();
    await odoo?.destroy();
  }, 60_000);

  it("keeps a production event waiting during a hold and posts it after the hold ends", async () => {
    const [product] = await odoo.admin<number[]>("product.product", "create", {
      vals_list: [{ name: "Window part", default_code: "PB-WINDOW", is_storable: true }],
    });
    const [moId] = await odoo.admin<number[]>("mrp.production", "create", {
      vals_list: [{ product_id: product, product_qty: 5 }],
    });
    await odoo.admin("mrp.production", "action_confirm", { ids: [moId] });
    const [mo] = await odoo.admin<Array<{ name: string }>>("mrp.production", "read", {
      ids: [moId],
      fields: ["name"],
    });
    const [site] = await odoo.admin<number[]>("plant_bridge.site", "search", {
      domain: [["code", "=", SITE]],
    });
    // A long hold to begin with (a loaded machine may take a while to start the sidecar); once
    // the event is seen waiting, the hold is shortened in Odoo, as an operator ends a period
    // close early: the sidecar picks the change up with the configuration and re-checks.
    const longEnd = Math.ceil((Date.now() + 20 * 60_000) / 1000) * 1000;
    const [windowId] = await odoo.admin<number[]>("plant_bridge.posting.window", "create", {
      vals_list: [
        {
          site_id: site,
          name: "Period close",
          event_class: "production",
          mode: "hold",
          hold_start: serverTime(Date.now() - 60_000),
          hold_end: serverTime(longEnd),
        },
      ],
    });
    const name = randomName("e2e-window");
    const sidecar = await startSidecarProcess({
      PLANT_BRIDGE_MQTT_URL: broker.url,
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      PLANT_BRIDGE_SITE: SITE,
      PLANT_BRIDGE_NAME: name,
      PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-e2e-window-")), "store.db"),
      PLANT_BRIDGE_POST_LINGER_MS: "50",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
      PLANT_BRIDGE_CONFIG_POLL_SECONDS: "1",
    });
    try {
      const key = randomName("held");
      const event = {
        id: key,
        type: "production",
        site: SITE,
        occurredAt: new Date().toISOString(),
        order: mo!.name,
        quantity: 1,
      };
      await publisher.publishAsync(canonicalTopic(SITE), JSON.stringify(event), { qos: 1 });

      // waiting, and shown as such: the heartbeat reports it held until the end of the hold
      const snapshot = await waitFor(
        "a heartbeat reporting the held event",
        async () => {
          const rows = await odoo.admin<Array<{ held: number; held_until: string | false }>>(
            "plant_bridge.metric.snapshot",
            "search_read",
            {
              domain: [
                ["sidecar_id.name", "=", name],
                ["connector", "=", false],
                ["held", ">", 0],
              ],
              fields: ["held", "held_until"],
              limit: 1,
            },
          );
          return rows[0];
        },
        120_000,
      );
      expect(snapshot).toEqual({
        id: expect.any(Number),
        held: 1,
        held_until: serverTime(longEnd),
      });
      const before = await odoo.admin<unknown[]>("plant_bridge.message", "search_read", {
        domain: [["key", "=", key]],
        fields: ["state"],
      });
      expect(before).toEqual([]);
      // still nothing in Odoo a few heartbeats later: it waits, it has not failed
      await new Promise((r) => setTimeout(r, 5000));
      expect(
        await odoo.admin<unknown[]>("plant_bridge.message", "search_read", {
          domain: [["key", "=", key]],
          fields: ["state"],
        }),
      ).toEqual([]);

      const holdEnd = Math.ceil((Date.now() + 10_000) / 1000) * 1000;
      await odoo.admin("plant_bridge.posting.window", "write", {
        ids: [windowId],
        vals: { hold_end: serverTime(holdEnd) },
      });

      // applied once the hold is over, and not before
      const applied = await waitFor(
        "the event applied in Odoo",
        async () => {
          const rows = await odoo.admin<Array<{ state: string }>>(
            "plant_bridge.message",
            "search_read",
            { domain: [["key", "=", key]], fields: ["state"] },
          );
          return rows[0]?.state === "applied" ? Date.now() : undefined;
        },
        180_000,
      );
      expect(applied).toBeGreaterThanOrEqual(holdEnd);
      const [after] = await odoo.admin<Array<{ qty_producing: number }>>("mrp.production", "read", {
        ids: [moId],
        fields: ["qty_producing"],
      });
      expect(after!.qty_producing).toBe(1);
    } finally {
      await sidecar.kill("SIGTERM");
    }
  }, 600_000);
});
