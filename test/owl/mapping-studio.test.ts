/**
 * @jest-environment jsdom
 */
import { afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { createHash, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { TextEncoder } from "node:util";
import { EVENT_TYPES } from "../../sidecar/src/canonical/schema.js";
import { toIsoTimestamp } from "../../sidecar/src/canonical/time.js";
import { projectPath } from "../../sidecar/src/paths.js";
import { bundleLoaders, loadedBundles } from "./fakes/web/core/assets.js";
import { registry } from "@web/core/registry";
import {
  ENGINE_BUNDLE,
  MappingStudio,
  PREVIEW_DELAY_MS,
  exampleSource,
  type BindingRow,
  type MappingRow,
} from "../../owl_src/mapping_studio/mapping_studio.js";
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

const ACTIVE: MappingRow = {
  id: 10,
  name: "Machine status",
  site_id: [1, "Main Plant"],
  connector_id: [3, "Plant broker"],
  selector: "plant/{site}/{line}/{machine}/status",
  event_type: "machine_status",
  expression: '{"workcenter": $machine, "status": $lowercase(state)}',
  key_expression: false,
  sample_payload: '{"state": "IDLE"}',
  version: 1,
  state: "active",
  origin_id: false,
  replaced_id: false,
};

const SAMPLES = [
  {
    id: 5,
    source: "plant/main/l1/press-1/status",
    payload: '{"state":"RUNNING","good":12}',
    at: "2026-11-26 08:00:00",
  },
  { id: 6, source: "other/topic", payload: '{"x":1}', at: "2026-11-26 07:59:00" },
];

interface Source {
  connectors?: { id: number; name: string; site_id: [number, string]; kind: string }[];
  samples?: typeof SAMPLES;
  bindings?: BindingRow[];
  /** The site's time zone (`plant_bridge.site.timezone`). */
  timezone?: string;
  /** The selection of plant_bridge.mapping's event_type (default: Odoo's, from the generated file). */
  eventTypes?: [string, string][];
}

/** A small in-memory plant_bridge.mapping: versions, states, roll back, like the model does. */
function createBackend(mappings: MappingRow[], source: Source = {}) {
  let nextId = 100;
  const connectors = source.connectors ?? [
    { id: 3, name: "Plant broker", site_id: [1, "Main Plant"], kind: "mqtt" },
  ];
  const rows = mappings.map((m) => ({ ...m }));
  return (call: Call): unknown => {
    const [args, kwargs] = call.args as [unknown[], Record<string, unknown>];
    switch (`${call.model}.${call.method}`) {
      case "plant_bridge.connector.searchRead":
        return connectors;
      case "plant_bridge.binding.searchRead":
        return source.bindings ?? [];
      case "plant_bridge.site.searchRead":
        return [{ id: 1, code: "main", timezone: source.timezone ?? false }];
      case "plant_bridge.mapping.searchRead":
        return rows.map((m) => ({ ...m }));
      case "plant_bridge.sample.searchRead":
        return source.samples ?? SAMPLES;
      case "plant_bridge.mapping.call:fields_get": {
        const odoo = JSON.parse(
          readFileSync(projectPath("odoo_addon/plant_bridge/data/event_types.json"), "utf8"),
        ) as {
          eventTypes: { type: string; label: string }[];
        };
        const selection = odoo.eventTypes.map((t) => [t.type, t.label]);
        return { event_type: { selection: source.eventTypes ?? selection } };
      }
      case "plant_bridge.mapping.write": {
        const [ids, values] = call.args as [number[], Partial<MappingRow>];
        for (const m of rows.filter((r) => ids.includes(r.id)))
          Object.assign(m, values, { version: m.version + 1 });
        return true;
      }
      case "plant_bridge.mapping.create": {
        const values = (call.args as [Record<string, unknown>[]])[0][0]!;
        const site = values.site_id === 1 ? [1, "Main Plant"] : false;
        const row = {
          ...(values as unknown as MappingRow),
          id: nextId++,
          site_id: site as MappingRow["site_id"],
          connector_id: [values.connector_id, "connector"],
          key_expression: false,
          sample_payload: false,
          version: 1,
          origin_id: false,
          replaced_id: false,
        } as MappingRow;
        rows.push(row);
        return [row.id];
      }
      case "plant_bridge.mapping.call:action_new_version": {
        const from = rows.find((m) => m.id === (args[0] as number[])[0])!;
        const copy: MappingRow = {
          ...from,
          ...(kwargs.values as Partial<MappingRow>),
          id: nextId++,
          state: "draft",
          version: Math.max(...rows.map((m) => m.version)) + 1,
          origin_id: from.origin_id || [from.id, from.name],
          replaced_id: false,
        };
        rows.push(copy);
        return copy.id;
      }
      case "plant_bridge.mapping.call:action_shadow":
        rows.find((m) => m.id === (args[0] as number[])[0])!.state = "shadow";
        return true;
      case "plant_bridge.mapping.call:action_activate": {
        const m = rows.find((r) => r.id === (args[0] as number[])[0])!;
        const old = rows.find((r) => r.state === "active");
        if (old) {
          old.state = "archived";
          m.replaced_id = [old.id, old.name];
        }
        m.state = "active";
        return true;
      }
      case "plant_bridge.mapping.call:action_rollback": {
        const m = rows.find((r) => r.id === (args[0] as number[])[0])!;
        m.state = "archived";
        rows.find((r) => r.id === (m.replaced_id as [number, string])[0])!.state = "active";
        return true;
      }
      default:
        throw new Error(`unexpected ORM call ${call.model}.${call.method}`);
    }
  };
}

/** Waits past the live-preview delay, then lets OWL render. */
async function typed() {
  await new Promise((r) => setTimeout(r, PREVIEW_DELAY_MS + 20));
  await settle();
}

function events(target: HTMLElement) {
  return all(target, ".o_pb_tab_output").length
    ? all(target, ".o_pb_output .o_pb_event_json").map((pre) =>
        JSON.parse(pre.textContent ?? "null"),
      )
    : [];
}

describe("Mapping Studio", () => {
  let mounted: Mounted<MappingStudio> | undefined;
  afterEach(() => mounted?.destroy());

  async function mountStudio(mappings = [ACTIVE], source: Source = {}) {
    const orm = createOrm(createBackend(mappings, source));
    const action = createAction();
    const notification = createNotification();
    mounted = await mountScreen(MappingStudio, { services: { orm, action, notification } });
    return { orm, action, notification, target: mounted.target, studio: mounted.component };
  }

  beforeAll(() => {
    // browsers have these; jest's jsdom environment does not
    Object.assign(globalThis, { TextEncoder });
    if (!globalThis.crypto?.subtle)
      Object.defineProperty(globalThis, "crypto", { value: webcrypto });
    // the engine bundle is what loadBundle() brings in Odoo: here, the same module
    bundleLoaders[ENGINE_BUNDLE] = () => import("../../owl_src/mapping_engine/index.js");
  });

  test("loads the engine bundle on first use and is the registered client action", async () => {
    expect(registry.category("plant_bridge").contains("mapping_engine")).toBe(false);
    await mountStudio();
    expect(loadedBundles).toEqual([ENGINE_BUNDLE]);
    expect(registry.category("plant_bridge").contains("mapping_engine")).toBe(true);
    expect(registry.category("actions").get("plant_bridge.mapping_studio")).toBe(MappingStudio);
  });

  test("reads source connectors, the connector's mappings and its recent samples", async () => {
    const { orm } = await mountStudio();
    expect(orm.of("searchRead", "plant_bridge.connector")[0]!.args[0]).toEqual([
      ["kind", "in", ["mqtt", "file_drop", "sql_source", "http_source"]],
    ]);
    // the connector of an active mapping first, then that connector's mappings
    expect(orm.of("searchRead", "plant_bridge.mapping").map((c) => c.args[0])).toEqual([
      [
        ["state", "=", "active"],
        ["connector_id", "!=", false],
      ],
      [["connector_id", "=", 3]],
    ]);
    const [samples] = orm.of("searchRead", "plant_bridge.sample");
    // the connector's samples and its site's samples reported without a connector
    expect(samples!.args[0]).toEqual([
      "|",
      ["connector_id", "=", 3],
      "&",
      ["connector_id", "=", false],
      ["site_id", "=", 1],
    ]);
    expect(samples!.args[2]).toMatchObject({ order: "at desc, id desc", limit: 50 });
  });

  test("shows the active mapping's output on the newest sample its selector matches", async () => {
    const { target } = await mountStudio();
    expect(all(target, ".o_pb_sample").map((s) => s.dataset.key)).toEqual([
      "sample:5",
      "mapping",
      "paste",
    ]);
    expect(events(target)).toEqual([
      {
        workcenter: "press-1",
        status: "running",
        // the key the sidecar derives: m<first version>-<sha256(topic, payload)> (mapper.ts)
        id: `m10-${createHash("sha256")
          .update(`${SAMPLES[0]!.source}\0\0${SAMPLES[0]!.payload}`)
          .digest("hex")
          .slice(0, 32)}`,
        type: "machine_status",
        site: "main",
        occurredAt: expect.any(String),
      },
    ]);
    expect(text(target.querySelector(".o_pb_event"))).toContain(
      "Filled in: id, type, site, occurredAt",
    );
    expect(target.querySelector(".o_pb_valid")).not.toBeNull();
  });

  test("editing the expression updates the output and the canonical validation as you type, without saving", async () => {
    const { target, orm } = await mountStudio();
    const callsBefore = orm.calls.length;
    const editor = target.querySelector(".o_pb_expression");
    await type(editor, '{"workcenter": $machine, "status": "exploded"}');
    await typed();
    expect(text(target.querySelector(".o_pb_invalid_code"))).toBe("schema");
    expect(text(target.querySelector(".o_pb_invalid_message"))).toMatch(
      /^\/status must be equal to one of the allowed values/,
    );
    expect(target.querySelector(".o_pb_valid")).toBeNull();
    expect(text(target.querySelector(".badge.text-bg-warning"))).toBe("Edited");

    await type(editor, '{"workcenter": $machine, "status": ');
    await typed();
    expect(text(target.querySelector(".o_pb_error"))).toMatch(
      /^mapping_error\s*expression does not compile: Expected "}" before end of expression \(at character 35\)/,
    );

    await type(
      editor,
      '{"workcenter": $uppercase($machine), "status": "down", "counters": {"good": good}}',
    );
    await typed();
    expect(events(target)[0]).toMatchObject({
      workcenter: "PRESS-1",
      status: "down",
      counters: { good: 12 },
    });
    expect(target.querySelector(".o_pb_valid")).not.toBeNull();
    expect(orm.calls.length).toBe(callsBefore);
  });

  test("a date-time without offset is read in the mapping's site's time zone, as the sidecar reads it", async () => {
    const { target } = await mountStudio([ACTIVE], { timezone: "Europe/Paris" });
    await type(
      target.querySelector(".o_pb_expression"),
      '{"workcenter": $machine, "status": "down", "occurredAt": "2026-01-15T08:00:00"}',
    );
    await typed();
    // what the sidecar's mapper makes of it for a site in Paris (canonical/time.ts)
    const sidecar = toIsoTimestamp("2026-01-15T08:00:00", "Europe/Paris") as string;
    expect(Date.parse(sidecar)).toBe(Date.parse("2026-01-15T07:00:00Z"));
    expect(events(target)[0]).toMatchObject({ occurredAt: sidecar });
  });

  test("canonical error codes are the sidecar's: bad_quantity for a wrong quantity", async () => {
    const { target } = await mountStudio();
    await type(
      target.querySelector(".o_pb_expression"),
      '{"type": "scrap", "product": "P-1", "quantity": -2}',
    );
    await typed();
    expect(text(target.querySelector(".o_pb_invalid_code"))).toBe("bad_quantity");
    expect(text(target.querySelector(".o_pb_invalid_message"))).toMatch(/^\/quantity must be > 0/);
  });

  test("a pasted sample: broken JSON is reported, valid JSON is mapped with the typed topic's segments", async () => {
    const { target } = await mountStudio();
    await click(target.querySelector('.o_pb_sample[data-key="paste"]'));
    expect((target.querySelector(".o_pb_paste_source") as HTMLInputElement).value).toBe(
      exampleSource(ACTIVE.selector, "main"),
    );
    await type(target.querySelector(".o_pb_paste"), '{"state": ');
    await typed();
    // what the sidecar records for a mapped message it cannot read
    expect(text(target.querySelector(".o_pb_error"))).toMatch(
      /^mapping_error\s*payload is not valid JSON/,
    );
    await type(target.querySelector(".o_pb_paste_source"), "plant/main/l2/oven-3/status");
    await type(target.querySelector(".o_pb_paste"), '{"state": "SETUP"}');
    await typed();
    expect(events(target)[0]).toMatchObject({ workcenter: "oven-3", status: "setup" });
  });

  test("compares the edited expression with the active version on the same sample", async () => {
    const { target } = await mountStudio();
    await click(target.querySelector(".o_pb_tab_compare"));
    expect(text(target.querySelector(".o_pb_compare_verdict"))).toBe("This is the active version");
    await click(target.querySelector(".o_pb_tab_output"));
    await type(
      target.querySelector(".o_pb_expression"),
      '{"workcenter": $machine, "status": "idle"}',
    );
    await typed();
    await click(target.querySelector(".o_pb_tab_compare"));
    expect(text(target.querySelector(".o_pb_compare_verdict"))).toBe(
      "Different events from the active version",
    );
    const columns = all(target, ".o_pb_output .o_pb_preview");
    expect(columns).toHaveLength(2);
    expect(text(columns[0])).toContain('"status": "running"');
    expect(text(columns[1])).toContain('"status": "idle"');
  });

  test("save as new version, run it in shadow, activate it, roll back: the model's methods on the right ids", async () => {
    const { target, orm, studio } = await mountStudio();
    const button = (cls: string) => target.querySelector<HTMLButtonElement>(`.${cls}`)!;
    expect(button("o_pb_save").disabled).toBe(true);
    expect(button("o_pb_rollback").disabled).toBe(true);
    const expression = '{"workcenter": $machine, "status": $lowercase(state), "reason": "v2"}';
    await type(target.querySelector(".o_pb_expression"), expression);
    expect(button("o_pb_save").disabled).toBe(false);
    expect(button("o_pb_activate").disabled).toBe(true); // unsaved edits first

    await click(button("o_pb_save"));
    expect(orm.of("call:action_new_version")[0]!.args).toEqual([
      [[10]],
      { values: { expression, key_expression: false } },
    ]);
    expect(studio.state.mappingId).toBe(100);
    expect(text(target.querySelector(".o_pb_studio .card-header .badge"))).toBe("v2 · Draft");

    await click(button("o_pb_shadow"));
    expect(orm.of("call:action_shadow")[0]!.args[0]).toEqual([[100]]);
    await click(button("o_pb_activate"));
    expect(orm.of("call:action_activate")[0]!.args[0]).toEqual([[100]]);
    expect(text(target.querySelector(".o_pb_studio .card-header .badge"))).toBe("v2 · Active");

    expect(button("o_pb_rollback").disabled).toBe(false);
    await click(button("o_pb_rollback"));
    expect(orm.of("call:action_rollback")[0]!.args[0]).toEqual([[100]]);
    expect(studio.state.mappingId).toBe(10);
    expect(text(target.querySelector(".o_pb_studio .card-header .badge"))).toBe("v1 · Active");
  });

  test("a draft is saved in place", async () => {
    const draft: MappingRow = {
      ...ACTIVE,
      id: 11,
      state: "draft",
      version: 2,
      origin_id: [10, "Machine status"],
    };
    const { target, orm, studio } = await mountStudio([draft]);
    expect(studio.state.mappingId).toBe(11);
    await type(target.querySelector(".o_pb_expression"), '{"workcenter": "x", "status": "idle"}');
    await click(target.querySelector(".o_pb_save"));
    expect(orm.of("write", "plant_bridge.mapping")[0]!.args).toEqual([
      [11],
      { expression: '{"workcenter": "x", "status": "idle"}', key_expression: false },
    ]);
    expect(orm.of("call:action_new_version")).toHaveLength(0);
  });

  test("New Mapping: a draft of the chosen connector with the typed name and selector, opened in the Studio", async () => {
    const { target, orm, studio, notification } = await mountStudio([]);
    expect(text(target.querySelector(".o_view_nocontent"))).toContain("New Mapping");
    const button = target.querySelector<HTMLButtonElement>(".o_pb_new_mapping")!;
    expect(button.disabled).toBe(false);
    await click(button);
    const create = () => target.querySelector<HTMLButtonElement>(".o_pb_create")!;
    expect(create().disabled).toBe(true); // a name and a selector first
    await type(target.querySelector(".o_pb_new_name"), "  Press counts ");
    expect(create().disabled).toBe(true);
    await type(target.querySelector(".o_pb_new_selector"), "plant/{site}/{line}/{machine}/count");
    const select = target.querySelector<HTMLSelectElement>(".o_pb_new_event_type")!;
    select.value = "production";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await settle();
    expect(create().disabled).toBe(false);
    await click(create());

    expect(orm.of("create", "plant_bridge.mapping").map((c) => c.args)).toEqual([
      [
        [
          {
            name: "Press counts",
            selector: "plant/{site}/{line}/{machine}/count",
            event_type: "production",
            expression: "$",
            site_id: 1,
            connector_id: 3,
            state: "draft",
          },
        ],
      ],
    ]);
    // reloaded and opened: the new draft is the edited mapping, the form is closed
    expect(studio.state.mappingId).toBe(100);
    expect(target.querySelector(".o_pb_new_form")).toBeNull();
    expect(text(target.querySelector(".o_pb_studio .card-header .badge"))).toBe("v1 · Draft");
    expect(target.querySelector<HTMLTextAreaElement>(".o_pb_expression")!.value).toBe("$");
    expect(notification.notifications.at(-1)).toEqual({
      message: "Draft mapping created",
      type: "success",
    });
    // the sample the selector matches is the one shown
    expect(all(target, ".o_pb_sample").map((b) => b.dataset.key)).toEqual(["paste"]);
  });

  test("New Mapping offers the target types of Odoo's selection, with Odoo's (translated) labels", async () => {
    const { target, orm } = await mountStudio([], {
      eventTypes: [
        ["production", "Fabrication"],
        ["transfer", "Transfert"],
      ],
    });
    expect(orm.of("call:fields_get", "plant_bridge.mapping").map((c) => c.args)).toEqual([
      [[["event_type"]], {}],
    ]);
    await click(target.querySelector(".o_pb_new_mapping"));
    const options = all(target, ".o_pb_new_event_type option") as HTMLOptionElement[];
    expect(options.map((o) => [o.value, text(o)])).toEqual([
      ["production", "Fabrication"],
      ["transfer", "Transfert"],
    ]);
    // no machine_status here: the first type is proposed
    expect(options[0]!.selected).toBe(true);
  });

  test("New Mapping offers every canonical event type by default", async () => {
    const { target } = await mountStudio([]);
    await click(target.querySelector(".o_pb_new_mapping"));
    const options = all(target, ".o_pb_new_event_type option") as HTMLOptionElement[];
    expect(options.map((o) => o.value)).toEqual([...EVENT_TYPES]);
    expect(options.find((o) => o.selected)!.value).toBe("machine_status");
  });

  test("New Mapping: blank name or selector creates nothing, Cancel closes the form", async () => {
    const { target, orm } = await mountStudio();
    await click(target.querySelector(".o_pb_new_mapping"));
    await type(target.querySelector(".o_pb_new_name"), "   ");
    await type(target.querySelector(".o_pb_new_selector"), "plant/#");
    target
      .querySelector(".o_pb_new_form")!
      .dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();
    expect(orm.of("create")).toHaveLength(0);
    await click(target.querySelector(".o_pb_cancel_new"));
    expect(target.querySelector(".o_pb_new_form")).toBeNull();
    expect(target.querySelector<HTMLButtonElement>(".o_pb_new_mapping")!.disabled).toBe(false);
  });

  test("a file connector without a mapping: its last rows and their columns, then a mapping written with column completion", async () => {
    const file = {
      id: 4,
      name: "Line 2 export",
      site_id: [1, "Main Plant"] as [number, string],
      kind: "file_drop",
    };
    const rows = [3, 2].map((line) => ({
      id: 40 + line,
      source: `mes.csv:${line}`,
      payload: JSON.stringify({
        AUFTRAG: `WH/MO/0000${line}`,
        MENGE: `${line}.5`,
        "BUCHUNGS ZEIT": "2026-11-26 08:00:00",
      }),
      at: "2026-11-26 08:00:00",
    }));
    const { target, orm } = await mountStudio([], { connectors: [file], samples: rows });
    // no binding asked for a file connector
    expect(orm.of("searchRead", "plant_bridge.binding")).toHaveLength(0);
    expect(all(target, ".o_pb_connector_row")).toHaveLength(2);
    expect(all(target, ".o_pb_column").map((c) => text(c))).toEqual([
      "AUFTRAG",
      "MENGE",
      "BUCHUNGS ZEIT",
    ]);

    await click(target.querySelector(".o_pb_new_mapping"));
    await type(target.querySelector(".o_pb_new_name"), "Production log");
    await type(target.querySelector(".o_pb_new_selector"), "*.csv");
    const select = target.querySelector<HTMLSelectElement>(".o_pb_new_event_type")!;
    select.value = "production";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await settle();
    await click(target.querySelector(".o_pb_create"));
    // the connector's newest row is the sample
    expect(all(target, ".o_pb_sample").map((b) => b.dataset.key)).toEqual([
      "sample:43",
      "sample:42",
      "paste",
    ]);
    const editor = target.querySelector<HTMLTextAreaElement>(".o_pb_expression")!;
    await type(editor, '{"order": auf');
    expect(all(target, ".o_pb_completion").map((c) => text(c))).toEqual(["AUFTRAG"]);
    expect(all(target, ".o_pb_completion.btn-primary")).toHaveLength(1);
    editor.dispatchEvent(
      new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true }),
    );
    await settle();
    expect(editor.value).toBe('{"order": AUFTRAG');
    await type(editor, `${editor.value}, "quantity": $number(MENGE), "occurredAt": BU`);
    await click(target.querySelector(".o_pb_completion"));
    // a column that is not a name is backquoted
    expect(editor.value).toBe(
      '{"order": AUFTRAG, "quantity": $number(MENGE), "occurredAt": `BUCHUNGS ZEIT`',
    );
    // after a backquoted name, the next word completes as any other
    await type(editor, `${editor.value}, "note": me`);
    expect(all(target, ".o_pb_completion").map((c) => text(c))).toEqual(["MENGE"]);
    await type(editor, editor.value.replace(/, "note": me$/, "}"));
    await typed();
    expect(events(target)[0]).toMatchObject({
      type: "production",
      order: "WH/MO/00003",
      quantity: 3.5,
    });
    // variables complete after $: those of a file row
    await type(editor, "$fi");
    expect(all(target, ".o_pb_completion").map((c) => text(c))).toEqual(["$file"]);
  });

  test("Sparkplug: pick a device, its samples and its birth certificate's metrics for completion", async () => {
    const press: BindingRow = {
      id: 7,
      source: "plant1/edge-1/press-1",
      group_id: "plant1",
      edge_node: "edge-1",
      device: "press-1",
      metrics: JSON.stringify([
        { name: "Machine/State", datatype: "String" },
        { name: "Counters/Good", datatype: "Int64" },
      ]),
    };
    const oven: BindingRow = {
      ...press,
      id: 8,
      source: "plant1/edge-1/oven-1",
      device: "oven-1",
      metrics: "[]",
    };
    const decoded = (device: string, state: string) =>
      JSON.stringify({
        group: "plant1",
        edge: "edge-1",
        device,
        messageType: "DDATA",
        metrics: [{ name: "Machine/State", value: state }],
        values: { "Machine/State": state },
      });
    const samples = [
      {
        id: 1,
        source: "spBv1.0/plant1/DDATA/edge-1/oven-1",
        payload: decoded("oven-1", "HEAT"),
        at: "2026-11-26 08:01:00",
      },
      {
        id: 2,
        source: "spBv1.0/plant1/DDATA/edge-1/press-1",
        payload: decoded("press-1", "RUN"),
        at: "2026-11-26 08:00:00",
      },
    ];
    const sparkplug: MappingRow = {
      ...ACTIVE,
      selector: "spBv1.0/plant1/DDATA/edge-1/{machine}",
      expression: '{"workcenter": $machine, "status": "running"}',
      sample_payload: false,
    };
    const { target, orm } = await mountStudio([sparkplug], { samples, bindings: [press, oven] });
    expect(orm.of("searchRead", "plant_bridge.binding")[0]!.args[0]).toEqual([["site_id", "=", 1]]);
    expect(all(target, ".o_pb_device option").map((o) => text(o))).toEqual([
      "Any device",
      "plant1/edge-1/press-1",
      "plant1/edge-1/oven-1",
    ]);
    expect(all(target, ".o_pb_sample").map((b) => b.dataset.key)).toEqual([
      "sample:1",
      "sample:2",
      "paste",
    ]);

    const device = target.querySelector<HTMLSelectElement>(".o_pb_device")!;
    device.value = "7";
    device.dispatchEvent(new Event("change", { bubbles: true }));
    await settle();
    // the device's own messages only, the newest chosen
    expect(all(target, ".o_pb_sample").map((b) => b.dataset.key)).toEqual(["sample:2", "paste"]);
    const editor = target.querySelector<HTMLTextAreaElement>(".o_pb_expression")!;
    await type(editor, "values.coun");
    // from the birth certificate: Counters/Good although no message carried it yet
    expect(all(target, ".o_pb_completion").map((c) => text(c))).toEqual(["Counters/Good"]);
    await type(editor, '{"workcenter": $machine, "status": $lowercase(values.mach');
    editor.dispatchEvent(
      new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true }),
    );
    await settle();
    expect(editor.value).toBe(
      '{"workcenter": $machine, "status": $lowercase(values.`Machine/State`',
    );
    await type(editor, `${editor.value}) = "run" ? "running" : "idle"}`);
    await typed();
    expect(events(target)[0]).toMatchObject({ workcenter: "press-1", status: "running" });
  });
});
