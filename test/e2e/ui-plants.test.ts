/**
 * The Plants screen in a real browser on a real Odoo 19 (demo data + plant_bridge): two plants
 * whose sidecars reported their heartbeats and failures (through the connector API, as a sidecar
 * does), seen by a manager (both plants, each with its own error codes and pattern) and by a
 * plant user allowed on one of them (that plant only). Screenshots as in ui.test.ts
 * (`PLANT_BRIDGE_SCREENSHOTS=docs/screenshots`).
 *
 * Skips loudly without Odoo or Chromium (fails instead under PLANT_BRIDGE_REQUIRE_SERVICES=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { Page } from "playwright-core";
import {
  openBrowser,
  screenshots,
  serveOdoo,
  uiEnvironment,
  xmlid as xmlidOf,
  type ServedOdoo,
  type UiBrowser,
} from "./ui-odoo.js";

const run = uiEnvironment();
const screens = screenshots();
const RUN = Math.random().toString(36).slice(2, 6);
const NORTH = `north-${RUN}`;
const SOUTH = `south-${RUN}`;
const MIN = 60_000;

let odoo: ServedOdoo;
const browsers: UiBrowser[] = [];

const xmlid = (module: string, name: string) => xmlidOf(odoo, module, name);

/** A plant on its own warehouse, with what its sidecar reported over the last hours. */
async function plant(code: string, story: { applied: number; rejected: number; codes: string[] }) {
  const warehouse = await odoo.rpc<number>("stock.warehouse", "create", [
    { name: `Plant ${code}`, code: code.slice(0, 1).toUpperCase() + RUN.slice(0, 4) },
  ]);
  const site = await odoo.rpc<number>("plant_bridge.site", "create", [
    { name: `Plant ${code}`, code, warehouse_id: warehouse, timezone: "Europe/Paris" },
  ]);
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * MIN).toISOString();
  await odoo.rpc("plant_bridge.api", "heartbeat", [
    { name: `${code}-edge`, site: code, version: "0.1.0" },
    [
      {
        at: at(90),
        received: story.applied,
        applied: story.applied,
        rejected: story.rejected,
        oldest_pending_age: 40,
        outbox_depth: 12,
      },
      { at: at(2), received: 10, applied: 10, oldest_pending_age: 3, outbox_depth: 1 },
    ],
  ]);
  await odoo.rpc("plant_bridge.api", "report_rejections", [
    code,
    story.codes.map((c, i) => ({ code: c, payload: `{"n": ${i}}`, origin: `${code}/${i}` })),
  ]);
  return site;
}

async function openPlants(browser: UiBrowser): Promise<Page> {
  const page = browser.page;
  await page.goto(`${odoo.url}/odoo/action-plant_bridge.action_plants`);
  await page.waitForSelector(".o_plant_bridge_plants .o_pb_plants_total");
  return page;
}

(run ? describe : describe.skip)("Plants on a real Odoo", () => {
  beforeAll(async () => {
    odoo = await serveOdoo();
    await plant(NORTH, {
      applied: 400,
      rejected: 30,
      codes: ["unknown_product", "unknown_product", "unknown_product", "schema"],
    });
    const south = await plant(SOUTH, {
      applied: 250,
      rejected: 5,
      codes: ["mapping_error", "unknown_lot", "unknown_lot"],
    });
    await odoo.rpc("res.users", "create", [
      {
        name: `South operator ${RUN}`,
        login: `south-${RUN}`,
        password: `south-${RUN}-pw!`,
        group_ids: [[6, 0, [await xmlid("plant_bridge", "group_user")]]],
        plant_bridge_site_ids: [[6, 0, [south]]],
        tz: "Europe/Paris",
      },
    ]);
  }, 20 * 60_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await odoo?.stop();
  }, 120_000);

  test("a manager compares every plant: figures, top error codes, error pattern", async () => {
    const browser = await openBrowser(odoo.url);
    browsers.push(browser);
    const page = await openPlants(browser);
    const north = page.locator(`.o_pb_plant[data-code="${NORTH}"]`);
    const south = page.locator(`.o_pb_plant[data-code="${SOUTH}"]`);
    await north.waitFor();
    expect(await south.count()).toBe(1);
    expect(
      await north
        .locator(".o_pb_error_code")
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.code)),
    ).toEqual(["unknown_product", "schema"]);
    expect(await north.locator(".o_pb_plant_failure_rate").innerText()).toMatch(/6\.8\s?%/);
    expect(await south.locator(".o_pb_error_code").first().getAttribute("data-code")).toBe(
      "unknown_lot",
    );
    // today's cell of north's most frequent code is the darkest
    expect(await north.locator(".o_pb_pattern_row").first().locator(".o_pb_cell_4").count()).toBe(
      1,
    );
    await page.click(".o_pb_window:text-is('24h')");
    await page.waitForFunction(
      () => document.querySelectorAll(".o_pb_pattern_row:first-child .o_pb_cell").length >= 24,
    );
    await screens.shot(page, "plants");

    await north.locator(".o_pb_error_code").first().click();
    await page.waitForSelector(".o_list_view .o_data_row");
    expect(await page.locator(".o_list_view .o_data_row").count()).toBe(3);
  }, 180_000);

  test("a plant user sees their plant only", async () => {
    const browser = await openBrowser(odoo.url, {
      login: `south-${RUN}`,
      password: `south-${RUN}-pw!`,
    });
    browsers.push(browser);
    const page = await openPlants(browser);
    await page.locator(".o_pb_plant").first().waitFor();
    expect(
      await page
        .locator(".o_pb_plant")
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.code)),
    ).toEqual([SOUTH]);
    expect(await page.locator(".o_pb_total_sites").innerText()).toBe("1");
    await screens.shot(page, "plants-plant-user");
  }, 180_000);

  test("no console error", () => {
    expect(browsers.flatMap((b) => b.errors)).toEqual([]);
  });
});
