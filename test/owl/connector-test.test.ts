/**
 * @jest-environment jsdom
 */
import { afterEach, describe, expect, jest, test } from "@jest/globals";
import { registry } from "@web/core/registry";
import {
  ConnectorTest,
  POLL_MS,
  type ConnectorTestRow,
} from "../../owl_src/connector_test/connector_test.js";
import { click, createOrm, mountScreen, settle, text, type Call, type Mounted } from "./helpers.js";

function row(over: Partial<ConnectorTestRow>): ConnectorTestRow {
  return {
    id: 50,
    state: "pending",
    result: false,
    sidecar: false,
    duration_ms: 0,
    is_late: false,
    create_date: "2026-11-26 08:00:00",
    answered_at: false,
    site_id: [1, "Main Plant"],
    ...over,
  };
}

describe("Connector test widget", () => {
  let mounted: Mounted<ConnectorTest> | undefined;
  afterEach(() => mounted?.destroy());

  async function mountWidget(
    answers: ConnectorTestRow[],
    record = { resId: 3, isDirty: false, save: async () => true },
  ) {
    const reads = [...answers];
    const orm = createOrm((call: Call) => {
      switch (`${call.model}.${call.method}`) {
        case "plant_bridge.connector.test.searchRead":
          return [];
        case "plant_bridge.connector.call:action_test_connection":
          return 50;
        case "plant_bridge.connector.test.read":
          return [reads.length > 1 ? reads.shift()! : reads[0]!];
        default:
          throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
      }
    });
    mounted = await mountScreen(ConnectorTest, { services: { orm }, props: { record } });
    return { orm, target: mounted.target };
  }

  test("is registered as the view widget plant_bridge_connector_test", () => {
    expect(registry.category("view_widgets").get("plant_bridge_connector_test")).toEqual({
      component: ConnectorTest,
    });
  });

  test("asks the sidecars, waits, then shows their answer", async () => {
    const timeouts: (() => void)[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = jest.spyOn(globalThis, "setTimeout");
    const { orm, target } = await mountWidget([
      row({ state: "pending" }),
      row({
        state: "ok",
        result: "broker answered CONNACK",
        sidecar: "edge-1",
        duration_ms: 35,
        answered_at: "2026-11-26 08:00:10",
      }),
    ]);
    expect(orm.of("searchRead")[0]!.args).toEqual([
      [["connector_id", "=", 3]],
      expect.arrayContaining(["state", "result", "is_late"]),
      { order: "id desc", limit: 1 },
    ]);
    spy.mockImplementation(((fn: () => void, ms?: number) => {
      if (ms !== POLL_MS) return realSetTimeout(fn, ms);
      timeouts.push(fn);
      return 0 as unknown as ReturnType<typeof setTimeout>;
    }) as typeof setTimeout);
    try {
      await click(target.querySelector(".o_pb_test_connection"));
      expect(orm.of("call:action_test_connection")[0]!.args[0]).toEqual([[3]]);
      expect(target.querySelector(".o_pb_test_result")!.getAttribute("data-state")).toBe("pending");
      expect(text(target.querySelector(".o_pb_test_headline"))).toBe(
        "Waiting for a sidecar of Main Plant to try it (it asks Odoo with every heartbeat)…",
      );
      expect(target.querySelector<HTMLButtonElement>(".o_pb_test_connection")!.disabled).toBe(true);
      expect(timeouts).toHaveLength(1);
      timeouts.shift()!();
      await settle();
    } finally {
      spy.mockRestore();
    }
    await settle();
    const result = target.querySelector(".o_pb_test_result")!;
    expect(result.getAttribute("data-state")).toBe("ok");
    expect(result.className).toContain("alert-success");
    expect(text(result.querySelector(".o_pb_test_headline"))).toBe("Connected");
    expect(text(result.querySelector(".o_pb_test_detail"))).toMatch(
      /^broker answered CONNACK · tested by edge-1 · 35 ms · /,
    );
    expect(target.querySelector<HTMLButtonElement>(".o_pb_test_connection")!.disabled).toBe(false);
  });

  test("a failure and an unanswered request are told apart", async () => {
    const { target } = await mountWidget([
      row({ state: "failed", result: "ECONNREFUSED 10.0.0.5:1883" }),
    ]);
    await click(target.querySelector(".o_pb_test_connection"));
    expect(text(target.querySelector(".o_pb_test_headline"))).toBe("Connection failed");
    expect(text(target.querySelector(".o_pb_test_detail"))).toBe("ECONNREFUSED 10.0.0.5:1883");
    mounted!.destroy();
    const late = await mountWidget([row({ state: "pending", is_late: true })]);
    await click(late.target.querySelector(".o_pb_test_connection"));
    const result = late.target.querySelector(".o_pb_test_result")!;
    expect(result.getAttribute("data-state")).toBe("timeout");
    expect(text(result.querySelector(".o_pb_test_headline"))).toBe("No answer from a sidecar");
    expect(text(result.querySelector(".o_pb_test_detail"))).toBe(
      "No sidecar of the site answered: is one running and sending heartbeats?",
    );
  });

  test("unsaved changes are saved before the test (the sidecar tests what is stored)", async () => {
    const save = jest.fn(async () => true);
    const { orm, target } = await mountWidget([row({ state: "ok" })], {
      resId: 3,
      isDirty: true,
      save,
    });
    await click(target.querySelector(".o_pb_test_connection"));
    expect(save).toHaveBeenCalledTimes(1);
    expect(orm.of("call:action_test_connection")).toHaveLength(1);
  });
});
