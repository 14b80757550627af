/**
 * @jest-environment jsdom
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { registry } from "@web/core/registry";
import {
  ExceptionQueue,
  RETRY_CHUNK,
  groupsFromReadGroup,
  type MessageRow,
} from "../../owl_src/exception_queue/exception_queue.js";
import { suggestedFix } from "../../owl_src/exception_queue/suggestions.js";
import {
  all,
  click,
  createAction,
  createNotification,
  createOrm,
  mountScreen,
  settle,
  text,
  type,
  type Call,
  type Mounted,
} from "./helpers.js";

type QueueRow = MessageRow & { payload: string; state: string };

function message(id: number, over: Partial<QueueRow> = {}): QueueRow {
  return {
    id,
    key: `evt-${id}`,
    site_id: [1, "Main Plant"],
    event_type: "scrap",
    source: "mqtt",
    origin: "plant-bridge/v1/main/events",
    error_code: "unknown_product",
    error_message: "No product with internal reference 'NOPE'",
    attempts: 1,
    create_date: "2026-11-26 08:00:00",
    rejected_by: "odoo",
    production_id: [4, "WH/MO/00004"],
    workcenter_id: false,
    lot_id: [9, "LOT-9"],
    product_id: false,
    payload: `{"id":"evt-${id}","type":"scrap","product":"NOPE","quantity":1}`,
    state: "rejected",
    ...over,
  };
}

/** An in-memory exception queue: retry applies what was fixed (the product FURN_7800 exists). */
function createBackend(
  messages: ReturnType<typeof message>[],
  options: { refuse?: number[]; gate?: (ids: number[]) => Promise<void> } = {},
) {
  const rows = messages.map((m) => ({ ...m }));
  const find = (id: number) => rows.find((r) => r.id === id)!;
  const inDomain = (r: (typeof rows)[number], domain: unknown[][]) =>
    domain.every(([field, op, value]) => {
      const v =
        field === "site_id"
          ? (r.site_id as [number, string])[0]
          : (r as Record<string, unknown>)[field as string];
      if (op === "in") return (value as unknown[]).includes(v);
      return v === value;
    });
  const replay = (id: number) => {
    const r = find(id);
    if (options.refuse?.includes(id))
      throw new Error("Only rejected or deferred messages can be replayed");
    r.attempts++;
    if (r.payload.includes("FURN_7800")) r.state = "applied";
  };
  return async (call: Call): Promise<unknown> => {
    const [args] = call.args as [unknown[]];
    switch (`${call.model}.${call.method}`) {
      case "plant_bridge.message.formattedReadGroup": {
        const [domain] = call.args as [unknown[][]];
        const groups = new Map<
          string,
          { error_code: string | false; site_id: unknown; __count: number }
        >();
        for (const r of rows.filter((x) => inDomain(x, domain))) {
          const k = `${r.error_code}/${(r.site_id as [number, string])[0]}`;
          const g = groups.get(k) ?? { error_code: r.error_code, site_id: r.site_id, __count: 0 };
          g.__count++;
          groups.set(k, g);
        }
        return [...groups.values()];
      }
      case "plant_bridge.message.searchRead":
        return rows.filter((r) => inDomain(r, call.args[0] as unknown[][]));
      case "plant_bridge.message.searchCount":
        return rows.filter((r) => inDomain(r, call.args[0] as unknown[][])).length;
      case "plant_bridge.message.read":
        return (call.args[0] as number[]).map((id) => ({
          id,
          payload: find(id).payload,
          payload_attachment_id: false,
        }));
      case "plant_bridge.message.write": {
        const [ids, values] = call.args as [number[], { payload: string }];
        for (const id of ids) find(id).payload = values.payload;
        return true;
      }
      case "plant_bridge.message.call:action_retry":
        await options.gate?.(args[0] as number[]);
        for (const id of args[0] as number[]) replay(id);
        return true;
      case "plant_bridge.message.call:action_discard": {
        await options.gate?.(args[0] as number[]);
        const ids = args[0] as number[];
        if (ids.some((id) => options.refuse?.includes(id)))
          throw new Error("Only rejected or deferred messages can be discarded");
        for (const id of ids) find(id).state = "discarded";
        return true;
      }
      case "plant_bridge.message.call:action_replay_edited":
        for (const id of args[0] as number[]) replay(id);
        return true;
      case "plant_bridge.message.call:action_open_discard_wizard":
        return {
          type: "ir.actions.act_window",
          res_model: "plant_bridge.message.discard",
          context: { default_message_ids: args[0] },
        };
      default:
        throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
    }
  };
}

const QUEUE = [
  message(1),
  message(2),
  message(3, {
    error_code: "schema",
    rejected_by: "sidecar",
    event_type: "other",
    production_id: false,
    lot_id: false,
  }),
  message(4, { site_id: [2, "North"], error_code: "unknown_product" }),
];

describe("Exception Queue", () => {
  let mounted: Mounted<ExceptionQueue> | undefined;
  afterEach(() => mounted?.destroy());

  async function mountQueue(
    rows = QUEUE,
    options: {
      refuse?: number[];
      gate?: (ids: number[]) => Promise<void>;
      context?: Record<string, unknown>;
    } = {},
  ) {
    const orm = createOrm(createBackend(rows, options));
    const action = createAction();
    const notification = createNotification();
    mounted = await mountScreen(ExceptionQueue, {
      services: { orm, action, notification },
      props: { action: { context: options.context ?? {} } },
    });
    return { orm, action, notification, target: mounted.target, queue: mounted.component };
  }

  test("is the registered client action plant_bridge.exception_queue", () => {
    expect(registry.category("actions").get("plant_bridge.exception_queue")).toBe(ExceptionQueue);
  });

  test("groupsFromReadGroup: biggest group first", () => {
    expect(
      groupsFromReadGroup([
        { error_code: "schema", site_id: [1, "Main"], __count: 1 },
        { error_code: "unknown_lot", site_id: [1, "Main"], __count: 5 },
      ]).map((g) => [g.code, g.count]),
    ).toEqual([
      ["unknown_lot", 5],
      ["schema", 1],
    ]);
  });

  test("failures grouped by code and site with counts, read with one grouped ORM call", async () => {
    const { target, orm } = await mountQueue();
    const [group] = orm.of("formattedReadGroup", "plant_bridge.message");
    expect(group!.args).toEqual([
      [["state", "in", ["rejected", "deferred"]]],
      ["error_code", "site_id"],
      ["__count"],
    ]);
    expect(all(target, ".o_pb_group").map((g) => text(g))).toEqual([
      "unknown_product Main Plant 2",
      "schema Main Plant 1",
      "unknown_product North 1",
    ]);
    expect(orm.of("searchRead", "plant_bridge.message")[0]!.args[0]).toEqual([
      ["state", "in", ["rejected", "deferred"]],
      ["error_code", "=", "unknown_product"],
      ["site_id", "=", 1],
    ]);
  });

  test("events waiting behind a rejection or a quality hold (deferred) are listed with their code", async () => {
    const { target } = await mountQueue([
      message(1, { event_type: "consumption", error_code: "unknown_lot" }),
      message(5, {
        state: "deferred",
        event_type: "production",
        error_code: "parked_behind_rejection",
      }),
      message(6, { state: "deferred", event_type: "production", error_code: "quality_hold" }),
      message(7, { state: "applied", error_code: false }),
    ]);
    expect(
      all(target, ".o_pb_group")
        .map((g) => text(g))
        .sort(),
    ).toEqual([
      "parked_behind_rejection Main Plant 1",
      "quality_hold Main Plant 1",
      "unknown_lot Main Plant 1",
    ]);
  });

  test("each root cause comes with a suggested fix and the action that does it", async () => {
    const { target, action } = await mountQueue();
    // unknown_product (the first group): create or map the product
    expect(text(target.querySelector(".o_pb_suggestion_text"))).toMatch(/product/i);
    await click(target.querySelector(".o_pb_suggestion_action"));
    expect(action.actions[0]!.action).toMatchObject({
      type: "ir.actions.act_window",
      res_model: "product.product",
    });
    // schema (rejected by the sidecar): fix the mapping in the Mapping Studio
    await click(all(target, ".o_pb_group")[1]);
    expect(text(target.querySelector(".o_pb_suggestion_text"))).toMatch(/mapping/i);
    await click(target.querySelector(".o_pb_suggestion_action"));
    expect(action.actions[1]!.action).toBe("plant_bridge.action_mapping_studio");
  });

  test("a scan Odoo cannot resolve sends to the records to fix: locations, packages, transfers", () => {
    const models = ["unknown_location", "unknown_package", "unknown_picking"].map(
      (code) => (suggestedFix(code)?.action as { res_model?: string } | undefined)?.res_model,
    );
    expect(models).toEqual(["stock.location", "stock.package", "stock.picking"]);
  });

  test("a code without an action still says what to do; an unknown code says nothing", async () => {
    const { target } = await mountQueue([
      message(1, { error_code: "bad_quantity" }),
      message(2, { error_code: "something_new" }),
    ]);
    expect(text(target.querySelector(".o_pb_suggestion_text"))).toMatch(/quantit/i);
    expect(target.querySelector(".o_pb_suggestion_action")).toBeNull();
    await click(all(target, ".o_pb_group")[1]);
    expect(target.querySelector(".o_pb_suggestion")).toBeNull();
  });

  test("a site filter from the context (site button, dashboard) restricts the queue", async () => {
    const { target, orm } = await mountQueue(QUEUE, { context: { plant_bridge_site_id: 2 } });
    expect(orm.of("formattedReadGroup")[0]!.args[0]).toEqual([
      ["state", "in", ["rejected", "deferred"]],
      ["site_id", "=", 2],
    ]);
    expect(all(target, ".o_pb_group").map((g) => text(g))).toEqual(["unknown_product North 1"]);
    await click(target.querySelector(".o_pb_site_filter button"));
    expect(all(target, ".o_pb_group")).toHaveLength(3);
  });

  test("the payload and the error side by side, with links to the order and the lot", async () => {
    const { target, action } = await mountQueue();
    const detail = target.querySelector(".o_pb_detail")!;
    expect(
      JSON.parse((detail.querySelector(".o_pb_payload") as HTMLTextAreaElement).value),
    ).toMatchObject({
      product: "NOPE",
    });
    expect(text(detail.querySelector(".o_pb_error_code"))).toBe("unknown_product");
    expect(text(detail.querySelector(".o_pb_error_message"))).toBe(
      "No product with internal reference 'NOPE'",
    );
    expect(detail.querySelector(".o_pb_link_workcenter")).toBeNull();
    await click(detail.querySelector(".o_pb_link_production"));
    await click(detail.querySelector(".o_pb_link_lot"));
    expect(action.actions.map((a) => a.action)).toEqual([
      {
        type: "ir.actions.act_window",
        res_model: "mrp.production",
        res_id: 4,
        views: [[false, "form"]],
      },
      {
        type: "ir.actions.act_window",
        res_model: "stock.lot",
        res_id: 9,
        views: [[false, "form"]],
      },
    ]);
  });

  test("edit and replay: invalid JSON blocks the replay; the fixed payload is saved then replayed", async () => {
    const { target, orm, notification } = await mountQueue();
    const payload = target.querySelector(".o_pb_payload");
    await type(payload, '{"type": "scrap", ');
    expect(target.querySelector(".o_pb_payload_error")).not.toBeNull();
    expect(target.querySelector<HTMLButtonElement>(".o_pb_replay")!.disabled).toBe(true);
    const fixed = { id: "evt-1", type: "scrap", product: "FURN_7800", quantity: 1 };
    await type(payload, JSON.stringify(fixed, null, 2));
    expect(text(target.querySelector(".o_pb_replay"))).toBe("Save and Replay");
    await click(target.querySelector(".o_pb_replay"));
    expect(orm.of("write", "plant_bridge.message")[0]!.args).toEqual([
      [1],
      { payload: JSON.stringify(fixed) },
    ]);
    expect(orm.of("call:action_replay_edited")[0]!.args[0]).toEqual([[1]]);
    expect(notification.notifications.at(-1)).toEqual({ message: "1 applied", type: "success" });
    expect(all(target, ".o_pb_group").map((g) => text(g))).toEqual([
      "schema Main Plant 1",
      "unknown_product Main Plant 1",
      "unknown_product North 1",
    ]);
  });

  test("replay without edits, after fixing the cause in Odoo: a retry, nothing written", async () => {
    const fixed = message(7, { payload: '{"type":"scrap","product":"FURN_7800","quantity":1}' });
    const { target, orm, notification } = await mountQueue([fixed]);
    expect(text(target.querySelector(".o_pb_replay"))).toBe("Replay");
    await click(target.querySelector(".o_pb_replay"));
    expect(orm.of("call:action_retry").map((c) => c.args[0])).toEqual([[[7]]]);
    expect(orm.of("write")).toHaveLength(0);
    expect(orm.of("call:action_replay_edited")).toHaveLength(0);
    expect(notification.notifications.at(-1)).toEqual({ message: "1 applied", type: "success" });
    expect(target.querySelector(".o_pb_empty")).not.toBeNull();
  });

  test("bulk retry in chunks with a progress bar; refusals are counted, not lost", async () => {
    const many = Array.from({ length: RETRY_CHUNK + 5 }, (_, i) => message(100 + i));
    let release!: () => void;
    const lastChunk = new Promise<void>((resolve) => (release = resolve));
    const { target, orm, notification } = await mountQueue(many, {
      refuse: [101],
      gate: (ids) => (ids.length === 5 ? lastChunk : Promise.resolve()),
    });
    await click(target.querySelector(".o_pb_select_all"));
    expect(text(target.querySelector(".o_pb_retry_selected"))).toBe(
      `Retry Selected (${many.length})`,
    );
    await click(target.querySelector(".o_pb_retry_selected"));
    // the first chunk is done (its refusal retried one by one), the last one is under way
    expect(text(target.querySelector(".o_pb_progress"))).toBe(
      `Retrying ${RETRY_CHUNK} / ${many.length}`,
    );
    expect(target.querySelector(".o_pb_progress .progress")!.getAttribute("aria-valuenow")).toBe(
      "80",
    );
    expect(target.querySelector<HTMLButtonElement>(".o_pb_retry_selected")!.disabled).toBe(true);
    release();
    await settle();
    const retries = orm.of("call:action_retry").map((c) => (c.args[0] as number[][])[0]!.length);
    expect(retries).toEqual([RETRY_CHUNK, ...Array(RETRY_CHUNK).fill(1), 5]);
    expect(notification.notifications.at(-1)).toEqual({
      message: `0 applied · ${many.length - 1} still rejected · 1 refused by Odoo`,
      type: "warning",
    });
    expect(target.querySelector(".o_pb_progress")).toBeNull();
  });

  test("bulk retry of fixed events empties their group", async () => {
    const fixed = [1, 2].map((id) =>
      message(id, { payload: `{"type":"scrap","product":"FURN_7800","quantity":1}` }),
    );
    const { target, notification } = await mountQueue([...fixed, QUEUE[2]!]);
    await click(target.querySelector(".o_pb_select_all"));
    await click(target.querySelector(".o_pb_retry_selected"));
    expect(notification.notifications.at(-1)).toEqual({ message: "2 applied", type: "success" });
    expect(all(target, ".o_pb_group").map((g) => text(g))).toEqual(["schema Main Plant 1"]);
  });

  test("keyboard: arrows move through the list, space selects", async () => {
    const { target, queue } = await mountQueue();
    const list = target.querySelector(".o_pb_messages")!;
    expect(queue.state.focusedId).toBe(1);
    list.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    await settle();
    expect(queue.state.focusedId).toBe(2);
    list.dispatchEvent(new KeyboardEvent("keydown", { key: " ", bubbles: true }));
    await settle();
    expect(queue.state.selected).toEqual([2]);
    expect(target.querySelector('.o_pb_message[data-id="2"]')!.getAttribute("aria-selected")).toBe(
      "true",
    );
  });

  test("discard opens the discard wizard for the selection and reloads when it closes", async () => {
    const { target, action, orm } = await mountQueue();
    await click(all(target, ".o_pb_select")[1]);
    await click(target.querySelector(".o_pb_discard_selected"));
    expect(orm.of("call:action_open_discard_wizard")[0]!.args[0]).toEqual([[2]]);
    const opened = action.actions[0]!;
    expect(opened.action).toMatchObject({ res_model: "plant_bridge.message.discard" });
    const loads = orm.of("formattedReadGroup").length;
    await (opened.options!.onClose as () => Promise<void>)();
    expect(orm.of("formattedReadGroup").length).toBe(loads + 1);
  });

  test("bulk discard: the wizard's reason, then chunks with a progress bar; refusals counted", async () => {
    const many = Array.from({ length: RETRY_CHUNK + 5 }, (_, i) => message(100 + i));
    let release!: () => void;
    const lastChunk = new Promise<void>((resolve) => (release = resolve));
    const { target, orm, action, notification } = await mountQueue(many, {
      refuse: [101],
      gate: (ids) => (ids.length === 5 ? lastChunk : Promise.resolve()),
    });
    await click(target.querySelector(".o_pb_select_all"));
    await click(target.querySelector(".o_pb_discard_selected"));
    const opened = action.actions[0]!;
    expect(opened.options!.additionalContext).toEqual({ plant_bridge_discard_in_chunks: true });
    const ids = many.map((m) => m.id);
    const closing = (opened.options!.onClose as (infos: unknown) => Promise<void>)({
      discard_reason: "Commissioning test data",
      message_ids: ids,
    });
    await settle();
    expect(text(target.querySelector(".o_pb_progress"))).toBe(
      `Discarding ${RETRY_CHUNK} / ${many.length}`,
    );
    release();
    await closing;
    await settle();
    const calls = orm.of("call:action_discard").map((c) => c.args[0] as [number[], string]);
    expect(calls.map(([chunk]) => chunk.length)).toEqual([
      RETRY_CHUNK,
      ...Array(RETRY_CHUNK).fill(1),
      5,
    ]);
    expect(new Set(calls.map(([, reason]) => reason))).toEqual(
      new Set(["Commissioning test data"]),
    );
    expect(notification.notifications.at(-1)).toEqual({
      message: `${many.length - 1} discarded · 1 refused by Odoo`,
      type: "warning",
    });
    expect(target.querySelector(".o_pb_progress")).toBeNull();
  });

  test("a work center or lot filter from the context restricts the queue", async () => {
    const { orm } = await mountQueue(QUEUE, { context: { plant_bridge_workcenter_id: 5 } });
    expect(orm.of("formattedReadGroup")[0]!.args[0]).toEqual([
      ["state", "in", ["rejected", "deferred"]],
      ["workcenter_id", "=", 5],
    ]);
    mounted?.destroy();
    const lot = await mountQueue(QUEUE, { context: { plant_bridge_lot_id: 9 } });
    expect(lot.orm.of("formattedReadGroup")[0]!.args[0]).toEqual([
      ["state", "in", ["rejected", "deferred"]],
      ["lot_id", "=", 9],
    ]);
  });

  test("an empty queue says so", async () => {
    const { target } = await mountQueue([]);
    expect(text(target.querySelector(".o_pb_empty"))).toContain("No failed message");
  });
});
