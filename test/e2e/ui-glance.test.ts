/**
 * The answers at a glance in a real browser on a real Odoo 19 (demo data + plant_bridge): events
 * naming a work center and a lot are posted over JSON-RPC (`plant_bridge.api.post_events`, as a
 * sidecar would), some of them rejected; then in Chromium the work center form (smart buttons,
 * Plant Bridge page, one click to its exceptions in the Exception Queue), the lot form (its
 * buttons and the hold warning), and a bulk discard of rejected rows in the queue (reason asked
 * once, chunks with a progress bar), whose outcome is read back over JSON-RPC. Screenshots as in
 * ui.test.ts (`PLANT_BRIDGE_SCREENSHOTS=docs/screenshots`).
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
  xmlid as xmlidOf,
  type ServedOdoo,
  type UiBrowser,
} from "./ui-odoo.js";

const run = uiEnvironment();
const screens = screenshots();
const RUN = Math.random().toString(36).slice(2, 6);
const WORKCENTER = `Glance press ${RUN}`;
const OTHER_WORKCENTER = `Glance saw ${RUN}`;
const LOT = `LOT-GLANCE-${RUN}`;
/** rejected `unknown_product` scraps (no order: none waits behind another), discarded in bulk from the queue */
const DISCARDED = 27;
const REASON = `Commissioning test data ${RUN}`;

let odoo: ServedOdoo;
let ui: UiBrowser;
let page: Page;
let workcenterId = 0;
let lotId = 0;
let moName = "";

const shot = (name: string) => screens.shot(page, name);

interface PostResult {
  status: string;
  code?: string;
}

async function post(events: Record<string, unknown>[]): Promise<PostResult[]> {
  const stamped = events.map((e, i) => ({
    id: `glance-${RUN}-${e.type as string}-${i}-${Math.random().toString(36).slice(2, 8)}`,
    site: "main",
    occurredAt: new Date().toISOString(),
    ...e,
  }));
  return odoo.rpc<PostResult[]>("plant_bridge.api", "post_events", [stamped]);
}

const xmlid = (module: string, name: string) => xmlidOf(odoo, module, name);

/** The text of a smart button of the open form (its count and label). */
const button = (name: string) => page.locator(`.o_form_view button[name=${name}]`);

(run ? describe : describe.skip)("answers at a glance on a real Odoo", () => {
  beforeAll(async () => {
    odoo = await serveOdoo();
    workcenterId = await odoo.rpc<number>("mrp.workcenter", "create", [{ name: WORKCENTER }]);
    await odoo.rpc<number>("mrp.workcenter", "create", [{ name: OTHER_WORKCENTER }]);

    // a lot-tracked desk, a confirmed order producing it, a lot created in Odoo
    const desk = await xmlid("mrp", "product_product_computer_desk");
    await odoo.rpc("product.product", "write", [[desk], { tracking: "lot" }]);
    const moId = await odoo.rpc<number>("mrp.production", "create", [
      { product_id: desk, product_qty: 2 },
    ]);
    await odoo.rpc("mrp.production", "action_confirm", [[moId]]);
    const [mo] = await odoo.rpc<{ name: string }[]>("mrp.production", "read", [[moId], ["name"]]);
    moName = mo!.name;
    lotId = await odoo.rpc<number>("stock.lot", "create", [{ name: LOT, product_id: desk }]);
    const wcResults = await post([
      { type: "machine_status", workcenter: WORKCENTER, status: "running" },
      {
        type: "downtime",
        workcenter: WORKCENTER,
        reason: "No such reason at all",
        start: new Date(Date.now() - 600_000).toISOString(),
        end: new Date(Date.now() - 300_000).toISOString(),
      },
      {
        type: "downtime",
        workcenter: OTHER_WORKCENTER,
        reason: "No such reason either",
        start: new Date(Date.now() - 600_000).toISOString(),
        end: new Date(Date.now() - 300_000).toISOString(),
      },
    ]);
    expect(wcResults.map((r) => r.status)).toEqual(["applied", "rejected", "rejected"]);

    const lotResults = await post([
      { type: "production", order: moName, quantity: 1, lot: LOT },
      {
        type: "production",
        order: moName,
        quantity: 1,
        lot: LOT,
        byproducts: [{ product: `NO-SUCH-${RUN}`, quantity: 1 }],
      },
      { type: "quality", order: moName, test: "Leak test", result: "fail", hold: true },
    ]);
    expect(lotResults.map((r) => r.status)).toEqual(["applied", "rejected", "applied"]);

    const rejected = await post(
      Array.from({ length: DISCARDED }, (_, i) => ({
        type: "scrap",
        product: `NO-SUCH-PART-${RUN}-${i}`,
        quantity: 1,
      })),
    );
    expect(rejected.map((r) => r.code)).toEqual(Array(DISCARDED).fill("unknown_product"));

    ui = await openBrowser(odoo.url);
    page = ui.page;
  }, 20 * 60_000);

  afterAll(async () => {
    await ui?.close();
    await odoo?.stop();
  }, 120_000);

  test("the work center form: smart buttons, the Plant Bridge page, its exceptions", async () => {
    await page.goto(`${odoo.url}/odoo/action-mrp.mrp_workcenter_action/${workcenterId}`);
    await button("action_plant_bridge_messages").waitFor();
    expect(await button("action_plant_bridge_messages").innerText()).toMatch(/2\s*Plant Events/);
    expect(await button("action_plant_bridge_exceptions").innerText()).toMatch(
      /1\s*Plant Exceptions/,
    );

    await page.click(".o_notebook .nav-link:has-text('Plant Bridge')");
    const tab = page.locator(".o_notebook .tab-pane.active");
    await tab.locator("div[name=plant_bridge_last_event_type]").waitFor();
    expect(await tab.locator("div[name=plant_bridge_last_event_type]").innerText()).toBe(
      "Downtime",
    );
    expect(await tab.locator("div[name=plant_bridge_last_event_state]").innerText()).toMatch(
      /rejected/i,
    );
    expect(await tab.locator("div[name=plant_bridge_exception_count]").innerText()).toBe("1");
    expect(await tab.locator("div[name=plant_bridge_site_ids] .o_tag").allTextContents()).toEqual([
      "Main Plant",
    ]);
    expect(await tab.locator("div[name=plant_bridge_last_event_at]").innerText()).not.toBe("");
    await shot("workcenter-glance");

    await button("action_plant_bridge_exceptions").click();
    await page.waitForSelector(".o_plant_bridge_exception_queue .o_pb_message");
    expect(await page.locator(".o_pb_site_filter").innerText()).toContain("Work center filter");
    const groups = await page.locator(".o_pb_group").allInnerTexts();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toContain("schema");
    const rows = await page.locator(".o_pb_message").allInnerTexts();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("downtime");
    const [wcRejection] = await odoo.rpc<{ key: string }[]>(
      "plant_bridge.message",
      "search_read",
      [
        [
          ["workcenter_id", "=", workcenterId],
          ["state", "=", "rejected"],
        ],
      ],
      { fields: ["key"] },
    );
    expect(rows[0]).toContain(wcRejection!.key);
  }, 180_000);

  test("the lot form: its events, its exception, its order's trace, the hold", async () => {
    await page.goto(`${odoo.url}/odoo/action-stock.action_production_lot_form/${lotId}`);
    await button("action_plant_bridge_messages").waitFor();
    expect(await button("action_plant_bridge_messages").innerText()).toMatch(/2\s*Plant Events/);
    expect(await button("action_plant_bridge_exceptions").innerText()).toMatch(
      /1\s*Plant Exceptions/,
    );
    expect(await button("action_plant_bridge_order_trace").isVisible()).toBe(true);
    expect(await page.locator(".o_pb_lot_hold").innerText()).toContain("A quality hold blocks");
    expect(
      await page.locator("div[name=plant_bridge_production_ids] .o_tag").allTextContents(),
    ).toEqual([moName]);
    await shot("lot-glance");
  }, 180_000);

  test("bulk discard in the Exception Queue: reason once, chunks with progress, audited", async () => {
    // each chunk's call takes a moment longer, so the progress bar can be seen between chunks
    await page.route(
      "**/web/dataset/call_kw/plant_bridge.message/action_discard",
      async (route) => {
        await new Promise((r) => setTimeout(r, 700));
        await route.continue();
      },
    );
    await page.goto(`${odoo.url}/odoo/action-plant_bridge.action_exception_queue`);
    await page.waitForSelector(".o_pb_group");
    await page.locator(".o_pb_group", { hasText: "unknown_product" }).click();
    const mine = page.locator(".o_pb_message", { hasText: `glance-${RUN}-scrap` });
    await eventually(async () => (await mine.count()) === DISCARDED, "the rejected scraps");
    for (let i = 0; i < DISCARDED; i++) await mine.nth(i).locator(".o_pb_select").click();
    expect(await page.locator(".o_pb_retry_selected").innerText()).toContain(`(${DISCARDED})`);

    await page.click(".o_pb_discard_selected");
    await page.waitForSelector(".modal div[name=reason] textarea, .modal div[name=reason] input");
    await page
      .locator(".modal div[name=reason] textarea, .modal div[name=reason] input")
      .first()
      .fill(REASON);
    await page.click(".modal button[name=action_discard]");
    const progress = await eventually(
      async () =>
        (
          await page
            .locator(".o_pb_progress")
            .innerText()
            .catch(() => "")
        ).trim(),
      "the discard progress",
    );
    expect(progress).toMatch(new RegExp(`Discarding (0|20) / ${DISCARDED}`));
    await page.locator(".o_pb_progress").waitFor({ state: "detached", timeout: 60_000 });
    // the reason dialog closes once the queue has taken the reason (it may still be closing when
    // the last chunk ends on a loaded machine: seen once, 1 modal left right after the progress)
    await eventually(
      async () => (await page.locator(".modal").count()) === 0,
      "the reason dialog to close",
    );

    const messages = await odoo.rpc<{ id: number; state: string; discard_reason: string }[]>(
      "plant_bridge.message",
      "search_read",
      [[["key", "like", `glance-${RUN}-scrap-`]]],
      { fields: ["state", "discard_reason"] },
    );
    expect(messages).toHaveLength(DISCARDED);
    expect(new Set(messages.map((m) => m.state))).toEqual(new Set(["discarded"]));
    expect(new Set(messages.map((m) => m.discard_reason))).toEqual(new Set([REASON]));
    const audits = await odoo.rpc<number>("plant_bridge.audit", "search_count", [
      [
        ["action", "=", "message.discard"],
        ["res_model", "=", "plant_bridge.message"],
        ["res_id", "in", messages.map((m) => m.id)],
      ],
    ]);
    expect(audits).toBe(DISCARDED);
  }, 180_000);

  test("no console error", () => {
    expect(ui.errors).toEqual([]);
  });
});
