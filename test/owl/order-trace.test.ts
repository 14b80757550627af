/**
 * @jest-environment jsdom
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { registry } from "@web/core/registry";
import { OrderTrace } from "../../owl_src/order_trace/order_trace.js";
import { buildTimeline, textOf, type TraceData } from "../../owl_src/order_trace/timeline.js";
import {
  all,
  click,
  createAction,
  createOrm,
  mountScreen,
  text,
  type,
  type Call,
  type Mounted,
} from "./helpers.js";

const DATA: TraceData = {
  outbound: [
    {
      id: 1,
      key: "order_release:WH/MO/00012:1",
      event_type: "order_release",
      state: "acknowledged",
      sink: "mqtt:plant-bridge/v1/main/commands",
      ack_message: false,
      ack_date: "2026-11-26 08:00:05",
      create_date: "2026-11-26 08:00:00",
    },
  ],
  messages: [
    {
      id: 11,
      key: "cons-1",
      event_type: "consumption",
      state: "applied",
      error_code: false,
      error_message: false,
      attempts: 1,
      occurred_at: "2026-11-26 08:10:00",
      create_date: "2026-11-26 08:10:01",
      res_model: "stock.move",
      res_id: 5,
      res_name: "WH/MO/00012 Wood Panel",
      source: "mqtt",
      discard_reason: false,
      processed_at: false,
      failure_history: false,
    },
    {
      id: 12,
      key: "prod-1",
      event_type: "production",
      state: "rejected",
      error_code: "quality_hold",
      error_message: "WH/MO/00012 is on quality hold",
      attempts: 2,
      occurred_at: "2026-11-26 09:00:00",
      create_date: "2026-11-26 09:00:01",
      res_model: false,
      res_id: false,
      res_name: false,
      source: "mqtt",
      discard_reason: false,
      processed_at: false,
      failure_history: false,
    },
  ],
  quality: [
    {
      id: 21,
      name: "Torque",
      result: "fail",
      value: "12.5",
      hold: true,
      hold_state: "released",
      occurred_at: "2026-11-26 08:30:00",
      create_date: "2026-11-26 08:30:01",
      lot_id: [3, "LOT-3"],
      released_date: "2026-11-26 09:30:00",
      released_by_id: [2, "Mitchell Admin"],
    },
  ],
  replays: [],
  notes: [
    {
      id: 31,
      res_id: 12,
      body: "<p>Retried by Mitchell Admin: rejected quality_hold</p>",
      date: "2026-11-26 09:05:00",
      author_id: [3, "Mitchell Admin"],
    },
  ],
};

describe("timeline", () => {
  test("everything the integration did, oldest first", () => {
    const entries = buildTimeline(DATA);
    expect(entries.map((e) => [e.title, e.badge])).toEqual([
      ["Released to the plant", "sent"],
      ["Acknowledged by mqtt:plant-bridge/v1/main/commands", "acknowledged"],
      ["Material consumption", "applied"],
      ["Quality test Torque", "fail"],
      ["Quality hold", "released later"],
      ["Production confirmation", "rejected"],
      ["Retried by Mitchell Admin: rejected quality_hold", "Mitchell Admin"],
      ["Hold released", "released"],
    ]);
    const rejected = entries.find((e) => e.title === "Production confirmation")!;
    expect(rejected).toMatchObject({
      tone: "danger",
      failure: true,
      detail: "quality_hold: WH/MO/00012 is on quality hold (2 attempts)",
      link: { model: "plant_bridge.message", id: 12 },
    });
    expect(entries.find((e) => e.title === "Material consumption")!.detail).toBe(
      "→ WH/MO/00012 Wood Panel",
    );
  });

  test("a failure fixed by a retry stays on the timeline before the success", () => {
    const entries = buildTimeline({
      outbound: [],
      quality: [],
      replays: [],
      messages: [RETRIED],
      notes: [RETRY_NOTE],
    });
    expect(entries.map((e) => [e.title, e.badge, e.detail, new Date(e.at).toISOString()])).toEqual([
      ["Scrap", "rejected", "unknown_product: no product PB-NEW-1", "2026-11-26T10:02:00.000Z"],
      ["Scrap", "applied", "→ SP/00009 (2 attempts)", "2026-11-26T10:05:00.000Z"],
      [
        "Retried by Mitchell Admin: applied",
        "Mitchell Admin",
        "scrap-1",
        "2026-11-26T10:05:00.000Z",
      ],
    ]);
    expect(entries.map((e) => [e.failure, e.tone])).toEqual([
      [true, "danger"],
      [false, "success"],
      [false, "secondary"],
    ]);
    expect(new Set(entries.map((e) => e.key)).size).toBe(3);
  });

  test("repeated failures: each one kept, a deferral as a warning; hostile history ignored", () => {
    const entries = buildTimeline({
      outbound: [],
      quality: [],
      replays: [],
      notes: [],
      messages: [
        {
          ...RETRIED,
          state: "rejected",
          error_code: "unknown_lot",
          error_message: "no lot L-1",
          res_name: false,
          processed_at: "2026-11-26 10:09:00",
          failure_history: [
            { state: "deferred", code: "order_not_ready", message: "", at: "2026-11-26 10:03:00" },
            { state: "rejected", code: "unknown_product", message: "", at: "2026-11-26 10:02:00" },
          ],
        },
        { ...RETRIED, id: 14, key: "scrap-2", failure_history: "<b>x</b>" as never },
      ],
    });
    expect(entries.map((e) => [e.key, e.badge, e.tone])).toEqual([
      ["message:14", "applied", "success"],
      ["message-failure:13:1", "rejected", "danger"],
      ["message-failure:13:0", "deferred", "warning"],
      ["message:13", "rejected", "danger"],
    ]);
  });

  test("an order closed in Odoo is told to the plant", () => {
    const entries = buildTimeline({
      ...DATA,
      outbound: [
        DATA.outbound[0]!,
        { ...DATA.outbound[0]!, id: 2, key: "order_done:WH/MO/00012:2", event_type: "order_done" },
      ],
    });
    expect(entries.find((e) => e.key === "outbound:2")).toMatchObject({
      title: "Completion sent to the plant",
      icon: "fa-flag-checkered",
      detail: "order_done:WH/MO/00012:2",
    });
  });

  test("a refused release and a pending sidecar replay", () => {
    const entries = buildTimeline({
      ...DATA,
      outbound: [{ ...DATA.outbound[0]!, state: "failed", ack_message: "sink down" }],
      replays: [
        {
          id: 41,
          message_id: [12, "prod-1"],
          state: "pending",
          result_code: false,
          create_date: "2026-11-26 10:00:00",
          done_at: false,
        },
      ],
    });
    expect(entries.find((e) => e.key === "outbound-ack:1")).toMatchObject({
      title: "Refused by mqtt:plant-bridge/v1/main/commands",
      detail: "sink down",
      failure: true,
    });
    expect(entries.at(-1)).toMatchObject({
      title: "Replay through the sidecar",
      badge: "queued",
      detail: "prod-1",
    });
  });

  test("a delivery a quality hold refused, and a consumption into another order", () => {
    const entries = buildTimeline({ ...DATA, blocks: BLOCKS });
    expect(entries.filter((e) => e.key.startsWith("block:"))).toEqual([
      expect.objectContaining({
        key: "block:5",
        kind: "quality",
        title: "Delivery blocked by a quality hold",
        detail: "lot LOT-3 · WH/OUT/00007 · by Mitchell Admin",
        tone: "danger",
        badge: "blocked",
        link: { model: "stock.picking", id: 7, label: "WH/OUT/00007" },
        failure: true,
      }),
      expect.objectContaining({
        key: "block:6",
        title: "Consumption blocked by a quality hold",
        link: { model: "mrp.production", id: 15, label: "WH/MO/00015" },
      }),
    ]);
  });

  test("textOf strips the chatter's HTML", () => {
    expect(textOf("<p>Payload edited by <b>A &amp; B</b>.</p>")).toBe("Payload edited by A & B .");
  });
});

/** A scrap rejected for an unknown product at 10:02, retried once the product exists at 10:05. */
const RETRIED: TraceData["messages"][number] = {
  id: 13,
  key: "scrap-1",
  event_type: "scrap",
  state: "applied",
  error_code: false,
  error_message: false,
  attempts: 2,
  occurred_at: "2026-11-26 10:01:00",
  create_date: "2026-11-26 10:02:00",
  res_model: "stock.scrap",
  res_id: 9,
  res_name: "SP/00009",
  source: "mqtt",
  discard_reason: false,
  processed_at: "2026-11-26 10:05:00",
  failure_history: [
    {
      state: "rejected",
      code: "unknown_product",
      message: "no product PB-NEW-1",
      at: "2026-11-26 10:02:00",
    },
  ],
};
const BLOCKS: NonNullable<TraceData["blocks"]> = [
  {
    id: 5,
    operation: "delivery",
    lot_id: [3, "LOT-3"],
    result_id: [21, "Flatness"],
    res_model: "stock.picking",
    res_id: 7,
    res_name: "WH/OUT/00007",
    user_id: [3, "Mitchell Admin"],
    create_date: "2026-11-26 11:00:00",
  },
  {
    id: 6,
    operation: "consumption",
    lot_id: [3, "LOT-3"],
    result_id: [21, "Flatness"],
    res_model: "mrp.production",
    res_id: 15,
    res_name: "WH/MO/00015",
    user_id: [2, "Plant Bridge Sidecar"],
    create_date: "2026-11-26 11:30:00",
  },
];
const RETRY_NOTE = {
  id: 32,
  res_id: 13,
  body: "<p>Retried by Mitchell Admin: applied </p>",
  date: "2026-11-26 10:05:00",
  author_id: [3, "Mitchell Admin"] as [number, string],
};

let served: Pick<TraceData, "messages" | "notes" | "blocks"> & { windows?: unknown[] } = DATA;

function handler(call: Call): unknown {
  switch (`${call.model}.${call.method}`) {
    case "plant_bridge.message.formattedReadGroup":
      return [{ production_id: [12, "WH/MO/00012"], __count: 2 }];
    case "mrp.production.read":
      return [
        {
          id: 12,
          name: "WH/MO/00012",
          product_id: [7, "Table"],
          product_qty: 2,
          product_uom_id: [1, "Units"],
          state: "progress",
          date_start: false,
          picking_type_id: [8, "Manufacturing"],
        },
      ];
    case "mrp.production.call:name_search":
      return [[12, "WH/MO/00012"]];
    case "plant_bridge.outbound.searchRead":
      return DATA.outbound;
    case "plant_bridge.message.searchRead":
      return served.messages;
    case "plant_bridge.quality.result.searchRead":
      return DATA.quality;
    case "plant_bridge.hold.block.searchRead":
      return served.blocks ?? [];
    case "plant_bridge.replay.searchRead":
      return DATA.replays;
    case "mail.message.searchRead":
      return served.notes;
    case "plant_bridge.posting.window.searchRead":
      return served.windows ?? [];
    default:
      throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
  }
}

describe("Order Trace", () => {
  let mounted: Mounted<OrderTrace> | undefined;
  afterEach(() => {
    mounted?.destroy();
    served = DATA;
  });

  async function mountTrace(context: Record<string, unknown> = {}) {
    const orm = createOrm(handler);
    const action = createAction();
    const states: Record<string, unknown>[] = [];
    mounted = await mountScreen(OrderTrace, {
      services: { orm, action },
      props: {
        action: { context },
        updateActionState: (s: Record<string, unknown>) => states.push(s),
      },
    });
    return { orm, action, states, target: mounted.target };
  }

  test("is the registered client action plant_bridge.order_trace", () => {
    expect(registry.category("actions").get("plant_bridge.order_trace")).toBe(OrderTrace);
  });

  test("opened from the MO's smart button (active_id): reads everything linked to the order", async () => {
    const { orm, target } = await mountTrace({ active_id: 12, active_model: "mrp.production" });
    expect(orm.of("read", "mrp.production")[0]!.args[0]).toEqual([12]);
    for (const model of [
      "plant_bridge.outbound",
      "plant_bridge.message",
      "plant_bridge.quality.result",
    ]) {
      expect(orm.of("searchRead", model)[0]!.args[0]).toEqual([["production_id", "=", 12]]);
    }
    expect(orm.of("searchRead", "plant_bridge.replay")[0]!.args[0]).toEqual([
      ["message_id", "in", [11, 12]],
    ]);
    expect(orm.of("searchRead", "mail.message")[0]!.args[0]).toEqual([
      ["model", "=", "plant_bridge.message"],
      ["res_id", "in", [11, 12]],
      ["body", "!=", ""],
    ]);
    expect(orm.of("searchRead", "plant_bridge.hold.block")[0]!.args[0]).toEqual([
      "|",
      ["production_id", "=", 12],
      "&",
      ["res_model", "=", "mrp.production"],
      ["res_id", "=", 12],
    ]);
    expect(text(target.querySelector(".o_pb_mo_header"))).toContain("WH/MO/00012");
    expect(all(target, ".o_pb_entry")).toHaveLength(8);
  });

  test("tells when the site's posting windows keep the order's events waiting", async () => {
    served = {
      ...DATA,
      windows: [
        {
          id: 1,
          name: "Period close",
          event_class: "production",
          mode: "hold",
          post_times: false,
          hold_start: "2026-11-30 22:00:00",
          hold_end: "2026-12-01 06:00:00",
          timezone: "Europe/Berlin",
        },
        {
          id: 2,
          name: "Shift end",
          event_class: "critical",
          mode: "batched",
          post_times: "06:00, 14:00, 22:00",
          hold_start: false,
          hold_end: false,
          timezone: "Europe/Berlin",
        },
      ],
    };
    const { orm, target } = await mountTrace({ active_id: 12 });
    const domain = orm.of("searchRead", "plant_bridge.posting.window")[0]!.args[0] as unknown[];
    expect(domain).toContainEqual(["site_id.warehouse_id.manu_type_id", "=", 8]);
    const lines = all(target, ".o_pb_window").map((li) => text(li));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Period close: production events wait \(hold\) until \S/);
    expect(lines[1]).toBe(
      "Shift end: critical lane events post at 06:00, 14:00, 22:00 (Europe/Berlin)",
    );
  });

  test("shows no posting window when the site posts in real time", async () => {
    served = DATA;
    const { target } = await mountTrace({ active_id: 12 });
    expect(target.querySelector(".o_pb_windows")).toBeNull();
  });

  test("shows the shipments a quality hold on the order's lots refused", async () => {
    served = { ...DATA, blocks: BLOCKS.slice(0, 1) };
    const { target } = await mountTrace({ active_id: 12 });
    await click(target.querySelector('[data-filter="quality"]'));
    expect(all(target, ".o_pb_entry_title").map((e) => text(e))).toContain(
      "Delivery blocked by a quality hold",
    );
  });

  test("renders a failure that a retry fixed, then the retry and the success", async () => {
    served = { messages: [RETRIED], notes: [RETRY_NOTE] };
    const { orm, target } = await mountTrace({ active_id: 12 });
    expect(orm.of("searchRead", "plant_bridge.message")[0]!.args[1]).toEqual(
      expect.arrayContaining(["error_code", "processed_at", "failure_history"]),
    );
    const scraps = all(target, ".o_pb_entry").filter((li) =>
      text(li.querySelector(".o_pb_entry_title")).startsWith("Scrap"),
    );
    expect(
      scraps.map((li) => [li.dataset.tone, text(li.querySelector(".o_pb_entry_detail"))]),
    ).toEqual([
      ["danger", "unknown_product: no product PB-NEW-1"],
      ["success", "→ SP/00009 (2 attempts)"],
    ]);
    await click(target.querySelector('[data-filter="failures"]'));
    expect(all(target, ".o_pb_entry_detail").map((e) => text(e))).toEqual([
      "12.5 · lot LOT-3", // the failed quality test of DATA
      "unknown_product: no product PB-NEW-1",
    ]);
  });

  test("filters: failures only, then quality only", async () => {
    const { target } = await mountTrace({ active_id: 12 });
    await click(target.querySelector('[data-filter="failures"]'));
    expect(all(target, ".o_pb_entry_title").map((e) => text(e))).toEqual([
      "Quality test Torque",
      "Production confirmation",
    ]);
    await click(target.querySelector('[data-filter="quality"]'));
    expect(all(target, ".o_pb_entry_title").map((e) => text(e))).toEqual([
      "Quality test Torque",
      "Quality hold",
      "Hold released",
    ]);
  });

  test("without an order: recent orders with plant events; picking one loads it and updates the URL state", async () => {
    const { orm, target, states } = await mountTrace();
    expect(orm.of("formattedReadGroup")[0]!.args).toEqual([
      [["production_id", "!=", false]],
      ["production_id"],
      ["__count"],
      { order: "create_date:max desc", limit: 12 },
    ]);
    expect(target.querySelector(".o_pb_choose")).not.toBeNull();
    await click(target.querySelector(".o_pb_recent_order"));
    expect(all(target, ".o_pb_entry")).toHaveLength(8);
    expect(states).toEqual([{ active_id: 12 }]);
  });

  test("search an order by name", async () => {
    const { orm, target } = await mountTrace();
    await type(target.querySelector(".o-autocomplete--input"), "00012");
    expect(orm.of("call:name_search")[0]!.args[1]).toEqual({ name: "00012", limit: 8 });
    await click(target.querySelector(".o-autocomplete--option"));
    expect(text(target.querySelector(".o_pb_mo_header"))).toContain("WH/MO/00012");
  });

  test("entries link to their records", async () => {
    const { target, action } = await mountTrace({ active_id: 12 });
    await click(all(target, ".o_pb_entry_link")[5]);
    expect(action.actions[0]!.action).toMatchObject({
      res_model: "plant_bridge.message",
      res_id: 12,
    });
    await click(target.querySelector(".o_pb_open_mo"));
    expect(action.actions[1]!.action).toMatchObject({ res_model: "mrp.production", res_id: 12 });
  });
});
