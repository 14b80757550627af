/**
 * @jest-environment jsdom
 *
 * The Mapping Studio's engine against the sidecar's rules (sidecar/src/pipeline/mapping/mapper.ts
 * and mapping-core/): variables, defaults, keys, limits and the canonical codes.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { webcrypto } from "node:crypto";
import { TextEncoder } from "node:util";
import { createPreviewEngine } from "../../owl_src/mapping_engine/preview.js";
import { sourceBindings, topicBindings } from "../../owl_src/mapping_engine/selector.js";
import type { PreviewRequest } from "../../owl_src/mapping_studio/engine_types.js";

beforeAll(() => {
  Object.assign(globalThis, { TextEncoder });
  if (!globalThis.crypto?.subtle) Object.defineProperty(globalThis, "crypto", { value: webcrypto });
});

const engine = createPreviewEngine();
const RECEIVED = "2026-11-26T08:00:00.000Z";

function run(over: Partial<PreviewRequest>) {
  return engine.preview({
    mapping: { id: 10, name: "Status", version: 3 },
    ref: "m10",
    expression: "{}",
    eventType: "machine_status",
    site: "main",
    selector: "plant/{site}/{line}/{machine}/status",
    source: "plant/main/l1/press-1/status",
    payload: '{"state": "RUNNING"}',
    receivedAt: RECEIVED,
    ...over,
  });
}

describe("selector", () => {
  test("named segments, + and # like MQTT filters", () => {
    expect(topicBindings("plant/{site}/+/{machine}/#", "plant/main/l1/m1/a/b")).toEqual({
      site: "main",
      machine: "m1",
    });
    expect(topicBindings("plant/{site}/status", "plant/main/other")).toBeNull();
    expect(topicBindings("plant/{site}/status", "plant/main/status/x")).toBeNull();
    expect(topicBindings("plant/{site}/{rest#}", "plant/main/l1/m1/status")).toEqual({
      site: "main",
      rest: "l1/m1/status",
    });
    expect(sourceBindings("*.csv", "mes_2026.csv:12")).toEqual({
      params: {},
      extra: { file: "mes_2026.csv", line: 12 },
    });
  });
});

describe("mapping engine", () => {
  test("variables: named segments, $params, $topic, $levels, $site, $receivedAt, $mapping", async () => {
    const r = await run({
      expression:
        '{"workcenter": $machine, "status": "idle", "attributes": {"line": $params.line, "l": $levels[2], "t": $topic, "v": $mapping.version, "at": $receivedAt}}',
    });
    expect(r.error).toBeUndefined();
    expect(r.events[0]!.event).toMatchObject({
      workcenter: "press-1",
      attributes: { line: "l1", l: "l1", t: "plant/main/l1/press-1/status", v: 3, at: RECEIVED },
    });
  });

  test("bare text is a string for the expression; broken JSON is a mapping_error", async () => {
    const text = await run({
      payload: "RUN",
      expression: '{"workcenter": $machine, "status": $ = "RUN" ? "running" : "idle"}',
    });
    expect(text.events[0]!.event).toMatchObject({ status: "running" });
    const broken = await run({ payload: '{"state": ' });
    expect(broken.error).toMatchObject({ code: "mapping_error", where: "input" });
  });

  test("defaults: type, site and occurredAt (an epoch-ms number becomes ISO)", async () => {
    const r = await run({
      expression:
        '[{"workcenter": "a", "status": "idle"}, {"workcenter": "b", "status": "down", "occurredAt": 1795000000000}]',
    });
    expect(r.events.map((e) => e.filled)).toEqual([
      ["id", "type", "site", "occurredAt"],
      ["id", "type", "site"],
    ]);
    expect(r.events[1]!.event).toMatchObject({ occurredAt: new Date(1795000000000).toISOString() });
    expect(r.events.map((e) => (e.event as { id: string }).id)).toEqual([
      expect.stringMatching(/^m10-[0-9a-f]{32}-0$/),
      expect.stringMatching(/^m10-[0-9a-f]{32}-1$/),
    ]);
  });

  test("key expression per event with $event and $index; repeated keys get the index", async () => {
    const r = await run({
      expression:
        '[{"workcenter": "a", "status": "idle"}, {"workcenter": "a", "status": "down"}, {"workcenter": "b", "status": "down"}]',
      keyExpression: '"k-" & $event.workcenter',
    });
    expect(r.events.map((e) => (e.event as { id: string }).id)).toEqual(["k-a-0", "k-a-1", "k-b"]);
  });

  test("what the sidecar refuses: non-object items, another site, schema and quantity codes", async () => {
    expect((await run({ expression: "[1]" })).error).toMatchObject({
      code: "mapping_error",
      where: "output",
      message: "output failed: item 0 of the output is a number, not an object",
    });
    const other = await run({
      expression: '{"workcenter": "a", "status": "idle", "site": "north"}',
    });
    expect(other.events[0]!.validation).toMatchObject({
      ok: false,
      code: "unauthorized",
      path: "/site",
    });
    const scrap = await run({ expression: '{"type": "scrap", "product": "P", "quantity": 0}' });
    expect(scrap.events[0]!.validation).toMatchObject({
      ok: false,
      code: "bad_quantity",
      path: "/quantity",
    });
    const extra = await run({
      expression: '{"workcenter": "a", "status": "idle", "colour": "red"}',
    });
    expect(extra.events[0]!.validation).toMatchObject({
      ok: false,
      code: "schema",
      path: "/colour",
    });
    expect(extra.ok).toBe(false);
  });

  test("an expression that runs away is stopped by the sidecar's limits", async () => {
    const r = await run({ expression: "($f := function($n) { $f($n + 1) }; $f(0))" });
    expect(r.error).toMatchObject({ code: "mapping_error", where: "expression" });
    expect(r.error!.message).toMatch(/stack|depth|time/i);
  });

  test("nothing returned: no event, not an error", async () => {
    const r = await run({ expression: 'state = "OFF" ? {"workcenter": "a", "status": "idle"}' });
    expect(r).toMatchObject({ ok: true, events: [] });
    expect(r.error).toBeUndefined();
  });
});
