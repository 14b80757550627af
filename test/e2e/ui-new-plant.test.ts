/**
 * *New Plant* in a real browser on a real Odoo 19 (demo data + plant_bridge): from the Sites
 * list, a plant on an existing warehouse whose address gives the time zone, the system-of-record
 * matrix, the demo plant `main` as the template with its broker's password typed again, and
 * *Connect a Sidecar* opened for the new site at the end. The new site's records are then read
 * back over JSON-RPC. Screenshots as in ui.test.ts (`PLANT_BRIDGE_SCREENSHOTS=docs/screenshots`).
 *
 * Skips loudly without Odoo or Chromium (fails instead under PLANT_BRIDGE_REQUIRE_SERVICES=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { Page } from "playwright-core";
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
const RUN = Math.random().toString(36).slice(2, 6);
const CODE = `lyon-${RUN}`;

let odoo: ServedOdoo;
let ui: UiBrowser;
let page: Page;

const shot = (name: string) => screens.shot(page, name);

/** Picks `text` in a many2one field of the open dialog. */
async function pickMany2one(field: string, text: string) {
  const input = page.locator(`.modal div[name=${field}] input`);
  await input.fill(text);
  const item = page.locator(".o-autocomplete--dropdown-item", { hasText: text }).first();
  await item.waitFor();
  await item.click();
}

(run ? describe : describe.skip)("New Plant on a real Odoo", () => {
  beforeAll(async () => {
    odoo = await serveOdoo();
    // the plant's warehouse, at an address in Chicago
    const partner = await odoo.rpc<number>("res.partner", "create", [
      { name: `Lyon plant ${RUN}`, tz: "America/Chicago" },
    ]);
    await odoo.rpc("stock.warehouse", "create", [
      { name: `Lyon ${RUN}`, code: `L${RUN}`.slice(0, 5).toUpperCase(), partner_id: partner },
    ]);
    // the template plant's broker has a password the new plant must not inherit
    const [broker] = await odoo.rpc<{ id: number }[]>(
      "plant_bridge.connector",
      "search_read",
      [
        [
          ["site_id.code", "=", "main"],
          ["kind", "=", "mqtt"],
        ],
      ],
      { fields: ["id"], limit: 1 },
    );
    await odoo.rpc("plant_bridge.connector", "write", [
      [broker!.id],
      { secrets: JSON.stringify({ password: "main-broker-secret" }) },
    ]);
    ui = await openBrowser(odoo.url);
    page = ui.page;
  }, 20 * 60_000);

  afterAll(async () => {
    await ui?.close();
    await odoo?.stop();
  }, 120_000);

  test("from the Sites list to Connect a Sidecar for the new plant", async () => {
    await page.goto(`${odoo.url}/odoo/action-plant_bridge.action_plant_bridge_site`);
    await page.click(".o_pb_new_plant_button");
    await page.waitForSelector(".modal .o_pb_new_plant");

    await page.fill(".modal div[name=name] input", `Lyon ${RUN}`);
    await page.fill(".modal div[name=code] input", CODE);
    await pickMany2one("warehouse_id", `Lyon ${RUN}`);
    // Odoo 19 shows a selection as a SelectMenu: its toggler holds the chosen label
    await eventually(
      async () =>
        (await page.locator(".modal div[name=timezone]").innerText()).includes("America/Chicago") ||
        (
          await page
            .locator(".modal div[name=timezone] input")
            .inputValue()
            .catch(() => "")
        ).includes("America/Chicago"),
      "the time zone of the warehouse's address",
    );
    expect(await page.locator(".modal div[name=timezone_origin]").innerText()).toContain(
      `Lyon plant ${RUN}`,
    );
    await shot("new-plant");

    await page.click(".modal .o_pb_next");
    await page.waitForSelector(".modal .o_pb_step_matrix .o_data_row");
    const rows = await page.locator(".modal .o_pb_step_matrix .o_data_row").count();
    expect(rows).toBe(10);
    await shot("new-plant-matrix");

    await page.click(".modal .o_pb_next");
    await page.waitForSelector(".modal .o_pb_step_template div[name=template_site_id] input");
    await pickMany2one("template_site_id", "Main Plant");
    const secret = page.locator(".modal div[name=secret_line_ids] .o_data_row", {
      hasText: "password",
    });
    await secret.first().waitFor();
    await secret.first().locator("td[name=value]").click();
    await page.fill(".modal div[name=secret_line_ids] td[name=value] input", "lyon-broker-secret");
    await shot("new-plant-template");

    await page.click(".modal .o_pb_create_plant");
    await page.waitForSelector(".modal div[name=site_ids] .o_tag", { timeout: 30_000 });
    expect(await page.locator(".modal div[name=site_ids] .o_tag").allTextContents()).toEqual([
      `Lyon ${RUN}`,
    ]);
    await shot("new-plant-connect");

    const [site] = await odoo.rpc<
      { id: number; timezone: string; warehouse_id: [number, string] }[]
    >("plant_bridge.site", "search_read", [[["code", "=", CODE]]], {
      fields: ["timezone", "warehouse_id"],
    });
    expect(site).toMatchObject({ timezone: "America/Chicago" });
    expect(site!.warehouse_id[1]).toBe(`Lyon ${RUN}`);
    const connectors = await odoo.rpc<
      { kind: string; secrets: string; site_id: [number, string] }[]
    >("plant_bridge.connector", "search_read", [[["site_id", "=", site!.id]]], {
      fields: ["kind", "secrets", "site_id"],
    });
    const broker = connectors.find((c) => c.kind === "mqtt");
    expect(JSON.parse(broker!.secrets)).toEqual({ password: "lyon-broker-secret" });
    expect(JSON.stringify(connectors)).not.toContain("main-broker-secret");
    const sor = await odoo.rpc<number>("plant_bridge.sor", "search_count", [
      [["site_id", "=", site!.id]],
    ]);
    expect(sor).toBe(10);
  }, 120_000);

  test("no console error", () => {
    expect(ui.errors).toEqual([]);
  });
});
