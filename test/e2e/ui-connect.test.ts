/**
 * An Odoo admin connects a plant in a real Chromium on a real Odoo 19 (scripts/odoo-serve.sh):
 * *Connect a Sidecar* from the dashboard prints an environment; a real sidecar process started
 * with exactly that environment (plus where it keeps its store and which MQTT port it opens on
 * this machine) becomes ready and posts a plant event that becomes an Odoo record, as the
 * wizard's service account. The same sidecar reads a file drop configured in Odoo: its last rows
 * are the Mapping Studio's samples, with their columns offered for completion while a mapping is
 * written. Screenshots as in ui.test.ts (`PLANT_BRIDGE_SCREENSHOTS=docs/screenshots` refreshes
 * the README's).
 *
 * Skips loudly without Odoo or Chromium (fails instead under PLANT_BRIDGE_REQUIRE_SERVICES=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Page } from "playwright-core";
import { freePort, startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import {
  eventually,
  openBrowser,
  screenshots,
  serveOdoo,
  uiEnvironment,
  type ServedOdoo,
  type UiBrowser,
} from "./ui-odoo.js";

const run = uiEnvironment();
const screens = screenshots();
const RUN = Math.random().toString(36).slice(2, 8);
const LOGIN = `edge-${RUN}`;
const FILE_CONNECTOR = "Line 2 export";

let odoo: ServedOdoo;
let ui: UiBrowser;
let page: Page;
let sidecar: SidecarProcess | undefined;
let dropDir: string;
let fileConnectorId: number;

const shot = (name: string) => screens.shot(page, name);

(run ? describe : describe.skip)("Connect a Sidecar and the Mapping Studio of a file drop", () => {
  beforeAll(async () => {
    odoo = await serveOdoo();
    dropDir = mkdtempSync(join(tmpdir(), "pb-ui-drop-"));
    const [site] = await odoo.rpc<{ id: number }[]>(
      "plant_bridge.site",
      "search_read",
      [[["code", "=", "main"]]],
      { fields: ["id"] },
    );
    // a legacy MES export the plant already writes, read every second (configured in Odoo)
    fileConnectorId = await odoo.rpc<number>("plant_bridge.connector", "create", [
      {
        name: FILE_CONNECTOR,
        site_id: site!.id,
        kind: "file_drop",
        params: JSON.stringify({
          path: dropDir,
          pattern: "*.csv",
          delimiter: ";",
          stableSeconds: 0,
        }),
      },
    ]);
    await odoo.rpc("plant_bridge.schedule", "create", [
      {
        name: "Line 2 export every second",
        site_id: site!.id,
        connector_id: fileConnectorId,
        cron: "* * * * * *",
      },
    ]);
    ui = await openBrowser(odoo.url);
    page = ui.page;
  }, 20 * 60_000);

  afterAll(async () => {
    await ui?.close();
    await sidecar?.kill("SIGTERM");
    await odoo?.stop();
  }, 120_000);

  test("the wizard's environment starts a real sidecar that becomes ready and posts as the service account", async () => {
    await page.goto(`${odoo.url}/odoo/plant-bridge-dashboard`);
    await page.click(".o_plant_bridge_dashboard .o_pb_connect_sidecar", { timeout: 30_000 });
    const dialog = page.locator(".modal .o_form_view");
    await dialog.waitFor({ timeout: 30_000 });
    await dialog.locator("div[name=login] input").fill(LOGIN);
    // the address this sidecar reaches Odoo at, as an admin types it
    await dialog.locator("div[name=odoo_url] input").fill(odoo.url);
    await page.click(".modal button[name=action_connect]");
    const envText = await eventually(async () => {
      const texts = await page.locator(".modal div[name=env_text]").allTextContents();
      return texts.find((t) => t.includes("PLANT_BRIDGE_ODOO_API_KEY="));
    }, "the environment shown by the wizard");
    const printed = Object.fromEntries(
      envText
        .split(/\n/)
        .map((line) => /^\s*(PLANT_BRIDGE_[A-Z_]+)=(.*?)\s*$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    expect(Object.keys(printed).sort()).toEqual(
      expect.arrayContaining([
        "PLANT_BRIDGE_ODOO_API_KEY",
        "PLANT_BRIDGE_ODOO_DB",
        "PLANT_BRIDGE_ODOO_URL",
        "PLANT_BRIDGE_SITE",
      ]),
    );
    expect(printed).toMatchObject({
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_SITE: "main",
    });
    // the picture shows where the key is, not the key
    const key = printed.PLANT_BRIDGE_ODOO_API_KEY!;
    await page.evaluate((secret) => {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode())
        if (n.nodeValue?.includes(secret))
          n.nodeValue = n.nodeValue.replace(secret, `${secret.slice(0, 6)}…(shown once)`);
    }, key);
    await shot("connect-sidecar");
    await page.click(".modal button[name=action_done]");

    const sidecarsBefore = await odoo.rpc<number>("plant_bridge.sidecar", "search_count", [[]]);
    const mqttPort = await freePort();
    sidecar = await startSidecarProcess({
      ...printed,
      // what only this machine knows: a free MQTT port, where the store lives
      PLANT_BRIDGE_MQTT_PORT: String(mqttPort),
      PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-ui-connect-")), "store.db"),
    });
    // startSidecarProcess returned once /readyz answered 200
    const ready = await fetch(`http://127.0.0.1:${sidecar.httpPort}/readyz`);
    expect(ready.status).toBe(200);

    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: `pb-ui-connect-${RUN}`,
    });
    const id = `e2e-connect-${RUN}`;
    await publisher.publishAsync(
      "plant-bridge/v1/main/events",
      JSON.stringify({
        id,
        type: "scrap",
        site: "main",
        occurredAt: new Date().toISOString(),
        product: "FURN_7800",
        quantity: 1,
        reason: "connect e2e",
      }),
      { qos: 1 },
    );
    await publisher.endAsync();
    const message = await eventually(
      async () => {
        const [row] = await odoo.rpc<
          {
            state: string;
            res_model: string | false;
            res_id: number | false;
            create_uid: [number, string];
          }[]
        >("plant_bridge.message", "search_read", [[["key", "=", id]]], {
          fields: ["state", "res_model", "res_id", "create_uid"],
        });
        return row?.state === "applied" ? row : undefined;
      },
      "the published event applied in Odoo",
      90_000,
    );
    expect(message.res_model).toBe("stock.scrap");
    const [scrap] = await odoo.rpc<{ state: string; scrap_qty: number }[]>("stock.scrap", "read", [
      [message.res_id as number],
      ["state", "scrap_qty"],
    ]);
    expect(scrap).toMatchObject({ state: "done", scrap_qty: 1 });
    // posted by the account the wizard made, which is a connector and not an internal user
    const [account] = await odoo.rpc<{ id: number; share: boolean }[]>(
      "res.users",
      "search_read",
      [[["login", "=", LOGIN]]],
      { fields: ["share"] },
    );
    expect(message.create_uid[0]).toBe(account!.id);
    expect(account!.share).toBe(true);
    // and it is on the dashboard at its first heartbeat
    await eventually(
      async () =>
        (await odoo.rpc<number>("plant_bridge.sidecar", "search_count", [[]])) > sidecarsBefore,
      "the sidecar registered in Odoo",
      60_000,
    );
  }, 300_000);

  test("Mapping Studio: a file drop's last rows, their columns completed while its mapping is written", async () => {
    expect(sidecar).toBeDefined();
    const csv = join(dropDir, "line2-0001.csv");
    writeFileSync(
      csv,
      [
        "AUFTRAG;MENGE;BUCHUNGS ZEIT;LOS",
        "WH/MO/00001;2;2026-11-26T08:00:00+01:00;L-0001",
        "WH/MO/00001;3;2026-11-26T08:05:00+01:00;L-0002",
        "WH/MO/00002;1.5;2026-11-26T08:10:00+01:00;",
        "",
      ].join("\n"),
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(csv, old, old);
    // the sidecar reports new samples every 10 s: every row of the file, with its connector
    await eventually(
      async () =>
        (await odoo.rpc<number>("plant_bridge.sample", "search_count", [
          [["connector_id", "=", fileConnectorId]],
        ])) >= 3,
      "the file's rows as samples of its connector",
      90_000,
    );

    await page.goto(`${odoo.url}/odoo/plant-bridge-mapping-studio`);
    await page.waitForSelector(".o_plant_bridge_mapping_studio .o_pb_connector", {
      timeout: 30_000,
    });
    const option = page.locator(".o_pb_connector option", { hasText: FILE_CONNECTOR });
    await page.selectOption(".o_pb_connector", (await option.getAttribute("value"))!);
    // no mapping yet: the rows and their columns are there to start from
    await page.waitForSelector(".o_pb_connector_row");
    expect(await page.locator(".o_pb_connector_row").count()).toBe(3);
    expect(await page.locator(".o_pb_column").allTextContents()).toEqual([
      "AUFTRAG",
      "MENGE",
      "BUCHUNGS ZEIT",
      "LOS",
    ]);

    await page.click(".o_pb_new_mapping");
    await page.fill(".o_pb_new_name", "Line 2 production");
    await page.fill(".o_pb_new_selector", "*.csv");
    await page.selectOption(".o_pb_new_event_type", "production");
    await page.click(".o_pb_create");
    await page.waitForSelector('.o_pb_sample[data-key^="sample:"]');

    const editor = page.locator(".o_pb_expression");
    await editor.fill("");
    await editor.pressSequentially('{"order": auf');
    await page.waitForSelector(".o_pb_completion", { state: "visible" });
    expect(await page.locator(".o_pb_completion").allTextContents()).toEqual(["AUFTRAG"]);
    await editor.press("Tab");
    await editor.pressSequentially(', "quantity": $number(MENGE), "occurredAt": bu');
    await editor.press("Tab");
    expect(await editor.inputValue()).toBe(
      '{"order": AUFTRAG, "quantity": $number(MENGE), "occurredAt": `BUCHUNGS ZEIT`',
    );
    await editor.pressSequentially("}");
    await page.waitForSelector(".o_pb_valid");
    const event = JSON.parse(
      (await page.locator(".o_pb_output .o_pb_event_json").first().textContent())!,
    ) as Record<string, unknown>;
    // the newest row: the file's last line
    expect(event).toMatchObject({ type: "production", order: "WH/MO/00002", quantity: 1.5 });
    // a lot next: the completion list open on what is typed
    await editor.press("ArrowLeft");
    await editor.pressSequentially(', "lot": l');
    await page.waitForSelector(".o_pb_completion.btn-primary");
    expect(await page.locator(".o_pb_completion").allTextContents()).toEqual(["LOS"]);
    await shot("mapping-studio-file");
  }, 240_000);

  test("no console error on any screen", () => {
    expect(ui.errors).toEqual([]);
  });
});
