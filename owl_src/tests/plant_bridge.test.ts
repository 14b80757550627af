/**
 * Hoot tests inside Odoo (bundled to static/tests/plant_bridge.test.js, run by Odoo's unit test
 * runner): the screens as the real web client mounts them, through the action service, on
 * Odoo's mock server.
 */
import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { queryAllTexts, queryOne } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import {
  contains,
  defineModels,
  fields,
  getService,
  models,
  mountView,
  mountWebClient,
  onRpc,
  preloadBundle,
} from "@web/../tests/web_test_helpers";

function serverTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
const NOW = Date.now();

class Site extends models.Model {
  _name = "plant_bridge.site";
  name = fields.Char();
  code = fields.Char();
  _records = [{ id: 1, name: "Main Plant", code: "main" }];
}

class Sidecar extends models.Model {
  _name = "plant_bridge.sidecar";
  name = fields.Char();
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  version = fields.Char();
  last_heartbeat = fields.Datetime();
  is_stale = fields.Boolean();
  config_revision = fields.Integer();
  _records = [
    {
      id: 1,
      name: "edge-1",
      site_id: 1,
      version: "0.1.0",
      last_heartbeat: serverTime(NOW - 5000),
      is_stale: false,
      config_revision: 3,
    },
  ];
}

class ConfigRevision extends models.Model {
  _name = "plant_bridge.config.revision";
  model = fields.Char();
  _records = [{ id: 3, model: "plant_bridge.mapping" }];
}

class Snapshot extends models.Model {
  _name = "plant_bridge.metric.snapshot";
  at = fields.Datetime();
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  sidecar_id = fields.Many2one({ relation: "plant_bridge.sidecar" });
  connector = fields.Char();
  received = fields.Integer();
  applied = fields.Integer();
  rejected = fields.Integer();
  duplicate = fields.Integer();
  outbox_depth = fields.Integer();
  dead_letters = fields.Integer();
  oldest_pending_age = fields.Float();
  latency_p50 = fields.Float();
  latency_p95 = fields.Float();
  odoo_up = fields.Boolean();
  _records = [
    {
      id: 1,
      at: serverTime(NOW - 30 * 60_000),
      site_id: 1,
      sidecar_id: 1,
      received: 60,
      applied: 54,
      rejected: 6,
      outbox_depth: 3,
      latency_p50: 0.2,
      latency_p95: 0.9,
      odoo_up: true,
    },
    {
      id: 2,
      at: serverTime(NOW - 5 * 60_000),
      site_id: 1,
      sidecar_id: 1,
      received: 6,
      applied: 6,
      rejected: 0,
      outbox_depth: 1,
      latency_p50: 0.3,
      latency_p95: 1.1,
      odoo_up: true,
    },
  ];
}

class Connector extends models.Model {
  _name = "plant_bridge.connector";
  name = fields.Char();
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  kind = fields.Selection({ selection: [["mqtt", "MQTT broker"]] });
  _records = [{ id: 1, name: "Plant broker", site_id: 1, kind: "mqtt" }];
}

class ConnectorTest extends models.Model {
  _name = "plant_bridge.connector.test";
  connector_id = fields.Many2one({ relation: "plant_bridge.connector" });
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  state = fields.Selection({
    selection: [
      ["pending", "Pending"],
      ["ok", "Connected"],
      ["failed", "Failed"],
      ["timeout", "No answer"],
    ],
  });
  result = fields.Text();
  sidecar = fields.Char();
  duration_ms = fields.Float();
  is_late = fields.Boolean();
  answered_at = fields.Datetime();
  _records = [];
}

class Mapping extends models.Model {
  _name = "plant_bridge.mapping";
  name = fields.Char();
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  connector_id = fields.Many2one({ relation: "plant_bridge.connector" });
  selector = fields.Char();
  // the Studio offers this selection (Odoo's: data/event_types.json)
  event_type = fields.Selection({
    selection: [
      ["production", "Production"],
      ["machine_status", "Machine Status"],
    ],
  });
  expression = fields.Text();
  key_expression = fields.Char();
  sample_payload = fields.Text();
  version = fields.Integer({ default: 1 });
  state = fields.Char();
  origin_id = fields.Many2one({ relation: "plant_bridge.mapping" });
  replaced_id = fields.Many2one({ relation: "plant_bridge.mapping" });
  _records = [
    {
      id: 1,
      name: "Machine status",
      site_id: 1,
      connector_id: 1,
      selector: "plant/{site}/{line}/{machine}/status",
      event_type: "machine_status",
      expression: '{"workcenter": $machine, "status": $lowercase(state)}',
      sample_payload: '{"state": "RUNNING"}',
      version: 1,
      state: "active",
    },
  ];
}

class Binding extends models.Model {
  _name = "plant_bridge.binding";
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  source = fields.Char();
  group_id = fields.Char();
  edge_node = fields.Char();
  device = fields.Char();
  metrics = fields.Text();
  _records = [
    {
      id: 1,
      site_id: 1,
      source: "plant1/edge-1/press-1",
      group_id: "plant1",
      edge_node: "edge-1",
      device: "press-1",
      metrics: '[{"name": "Machine/State", "datatype": "String"}]',
    },
  ];
}

class Sample extends models.Model {
  _name = "plant_bridge.sample";
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  connector_id = fields.Many2one({ relation: "plant_bridge.connector" });
  source = fields.Char();
  payload = fields.Text();
  at = fields.Datetime();
  _records = [
    {
      id: 1,
      connector_id: 1,
      source: "plant/main/l1/press-1/status",
      payload: '{"state": "IDLE"}',
      at: serverTime(NOW - 60_000),
    },
  ];
}

class Message extends models.Model {
  _name = "plant_bridge.message";
  key = fields.Char();
  site_id = fields.Many2one({ relation: "plant_bridge.site" });
  event_type = fields.Char();
  source = fields.Char();
  origin = fields.Char();
  state = fields.Char();
  error_code = fields.Char();
  error_message = fields.Text();
  attempts = fields.Integer();
  rejected_by = fields.Char();
  payload = fields.Text();
  payload_attachment_id = fields.Many2one({ relation: "plant_bridge.site" });
  occurred_at = fields.Datetime();
  res_model = fields.Char();
  res_id = fields.Integer();
  res_name = fields.Char();
  discard_reason = fields.Text();
  processed_at = fields.Datetime();
  failure_history = fields.Json();
  production_id = fields.Many2one({ relation: "mrp.production" });
  workcenter_id = fields.Many2one({ relation: "plant_bridge.site" });
  lot_id = fields.Many2one({ relation: "plant_bridge.site" });
  product_id = fields.Many2one({ relation: "plant_bridge.site" });
  _records = [
    {
      id: 1,
      key: "evt-1",
      site_id: 1,
      event_type: "scrap",
      state: "rejected",
      error_code: "unknown_product",
      error_message: "No product NOPE",
      attempts: 1,
      rejected_by: "odoo",
      payload: '{"type":"scrap","product":"NOPE","quantity":1}',
      production_id: 1,
      create_date: "2026-01-05 10:00:00",
    },
    {
      id: 2,
      key: "evt-2",
      site_id: 1,
      event_type: "consumption",
      state: "applied",
      attempts: 1,
      res_name: "WH/MO/00001 Wood",
      production_id: 1,
      occurred_at: "2026-01-05 09:00:00",
      create_date: "2026-01-05 09:00:01",
    },
    {
      // rejected at 09:31, retried once the product existed: applied at 09:40
      id: 3,
      key: "evt-3",
      site_id: 1,
      event_type: "scrap",
      state: "applied",
      attempts: 2,
      res_name: "SP/00003",
      production_id: 1,
      occurred_at: "2026-01-05 09:30:00",
      create_date: "2026-01-05 09:31:00",
      processed_at: "2026-01-05 09:40:00",
      failure_history: [
        {
          state: "rejected",
          code: "unknown_product",
          message: "No product PB-1",
          at: "2026-01-05 09:31:00",
        },
      ],
    },
  ];
}

class Production extends models.Model {
  _name = "mrp.production";
  name = fields.Char();
  product_id = fields.Many2one({ relation: "plant_bridge.site" });
  product_qty = fields.Float();
  product_uom_id = fields.Many2one({ relation: "plant_bridge.site" });
  state = fields.Char();
  date_start = fields.Datetime();
  _records = [{ id: 1, name: "WH/MO/00001", product_id: 1, product_qty: 3, state: "confirmed" }];
}

class Outbound extends models.Model {
  _name = "plant_bridge.outbound";
  key = fields.Char();
  event_type = fields.Char();
  state = fields.Char();
  sink = fields.Char();
  ack_message = fields.Text();
  ack_date = fields.Datetime();
  production_id = fields.Many2one({ relation: "mrp.production" });
  _records = [
    {
      id: 1,
      key: "order_release:WH/MO/00001:1",
      event_type: "order_release",
      state: "acknowledged",
      sink: "mqtt:plant/commands",
      create_date: "2026-01-05 08:00:00",
      ack_date: "2026-01-05 08:00:05",
      production_id: 1,
    },
  ];
}

class QualityResult extends models.Model {
  _name = "plant_bridge.quality.result";
  name = fields.Char();
  result = fields.Char();
  value = fields.Char();
  hold = fields.Boolean();
  hold_state = fields.Char();
  occurred_at = fields.Datetime();
  lot_id = fields.Many2one({ relation: "plant_bridge.site" });
  released_date = fields.Datetime();
  released_by_id = fields.Many2one({ relation: "plant_bridge.site" });
  production_id = fields.Many2one({ relation: "mrp.production" });
  _records = [];
}

class HoldBlock extends models.Model {
  _name = "plant_bridge.hold.block";
  operation = fields.Char();
  lot_id = fields.Many2one({ relation: "plant_bridge.site" });
  result_id = fields.Many2one({ relation: "plant_bridge.quality.result" });
  res_model = fields.Char();
  res_id = fields.Integer();
  res_name = fields.Char();
  user_id = fields.Many2one({ relation: "plant_bridge.site" });
  production_id = fields.Many2one({ relation: "mrp.production" });
  _records = [];
}

class Replay extends models.Model {
  _name = "plant_bridge.replay";
  message_id = fields.Many2one({ relation: "plant_bridge.message" });
  state = fields.Char();
  result_code = fields.Char();
  done_at = fields.Datetime();
  _records = [];
}

defineModels([
  Site,
  Binding,
  Sidecar,
  ConfigRevision,
  Snapshot,
  Connector,
  ConnectorTest,
  Mapping,
  Sample,
  Message,
  Production,
  Outbound,
  QualityResult,
  HoldBlock,
  Replay,
]);
defineMailModels();
preloadBundle("web.chartjs_lib");

/**
 * Past the Studio's typing delay (150 ms), not further: Hoot's clock is mocked, and moving it on
 * while JSONata evaluates would trip the sidecar's 100 ms evaluation limit.
 */
async function typed() {
  await advanceTime(150);
  await animationFrame();
  await animationFrame();
}

async function openAction(tag: string, context: Record<string, unknown> = {}) {
  await mountWebClient();
  await getService("action").doAction({ type: "ir.actions.client", tag, name: tag, context });
  await animationFrame();
}

describe("@plant_bridge", () => {
  test("Dashboard: figures per site from the snapshots, three charts, sidecar health", async () => {
    onRpc("plant_bridge.sidecar.connect", "has_access", () => true);
    onRpc("plant_bridge.audit", "audit_status", () => ({ ok: true, broken_seq: false }));
    await openAction("plant_bridge.dashboard");
    expect(".o_pb_connect_sidecar").toHaveCount(1);
    expect(".o_plant_bridge_dashboard .o_pb_group").toHaveCount(1);
    expect(".o_pb_group .o_pb_failures").toHaveText(/9\.1%\s*6 failed/);
    expect(".o_pb_group .o_pb_outbox").toHaveText(/^1\s*outbox/);
    expect(".o_pb_chart canvas").toHaveCount(3);
    expect(queryAllTexts(".o_pb_sidecar td:nth-child(3)")).toEqual(["Up"]);
    expect(".o_pb_audit_broken").toHaveCount(0);
  });

  test("Dashboard: flags an audit trail the daily verification found broken", async () => {
    onRpc("plant_bridge.audit", "audit_status", () => ({
      ok: false,
      checked_at: "2026-12-03 03:00:00",
      broken_seq: 7,
      reason: "its content does not match its hash (altered)",
    }));
    await openAction("plant_bridge.dashboard");
    expect(".o_pb_audit_broken").toHaveText(/broken at row #7/);
  });

  test("Plants: one row per plant from Odoo's overview, its codes and its error pattern", async () => {
    onRpc("plant_bridge.site", "read_plants_overview", ({ args }: { args: unknown[] }) => {
      expect(args[2]).toBe("day");
      return {
        granularity: "day",
        buckets: ["2026-12-01", "2026-12-02"],
        sites: [
          {
            id: 1,
            name: "Main Plant",
            code: "main",
            timezone: "UTC",
            received: 110,
            applied: 100,
            rejected: 10,
            throughput: 0.6,
            failure_rate: 10 / 110,
            latency_p95: 0.4,
            lag: 3,
            worst_lag: 40,
            outbox_depth: 1,
            last_at: serverTime(NOW - 60_000),
            sidecars: 1,
            sidecars_stale: 0,
            open_exceptions: 4,
            failed: 6,
            top_errors: [{ code: "unknown_product", count: 6 }],
            errors_over_time: [{ code: "unknown_product", counts: [2, 4] }],
          },
        ],
        total: {
          sites: 1,
          received: 110,
          applied: 100,
          rejected: 10,
          throughput: 0.6,
          failure_rate: 10 / 110,
          lag: 3,
          open_exceptions: 4,
          sidecars: 1,
          sidecars_stale: 0,
        },
      };
    });
    await openAction("plant_bridge.plants");
    expect(".o_plant_bridge_plants .o_pb_plant").toHaveCount(1);
    expect(".o_pb_plant .o_pb_plant_failure_rate").toHaveText(/9\.1%\s*10 of 110/);
    expect(".o_pb_plant .o_pb_error_code").toHaveText(/unknown_product\s*6/);
    expect(".o_pb_pattern_row .o_pb_cell_4").toHaveCount(1);
  });

  test("Mapping Studio: the preview follows the expression as it is typed", async () => {
    await openAction("plant_bridge.mapping_studio");
    expect(".o_pb_output .o_pb_event_json").toHaveText(/"status": "idle"/);
    await contains(".o_pb_expression").edit('{"workcenter": $machine, "status": "exploded"}', {
      confirm: false,
    });
    await typed();
    expect(".o_pb_invalid_code").toHaveText("schema");
    await contains(".o_pb_expression").edit(
      '{"workcenter": $uppercase($machine), "status": "down"}',
      { confirm: false },
    );
    await typed();
    expect(".o_pb_output .o_pb_event_json").toHaveText(/"workcenter": "PRESS-1"/);
    expect(".o_pb_valid").toHaveCount(1);
  });

  test("Mapping Studio: the sample's columns and a device's metrics complete what is typed", async () => {
    await openAction("plant_bridge.mapping_studio");
    await contains(".o_pb_expression").edit('{"workcenter": $machine, "status": sta', {
      confirm: false,
    });
    expect(queryAllTexts(".o_pb_completion")).toEqual(["state"]);
    await contains(".o_pb_completion").click();
    expect(".o_pb_expression").toHaveValue('{"workcenter": $machine, "status": state');
    await contains(".o_pb_device").select("1");
    await contains(".o_pb_expression").edit("values.mach", { confirm: false });
    expect(queryAllTexts(".o_pb_completion")).toEqual(["Machine/State"]);
  });

  test("Mapping Studio: New Mapping creates a draft of the connector and opens it", async () => {
    onRpc("plant_bridge.mapping", "create", ({ args }: { args: Record<string, unknown>[][] }) => {
      const v = args[0]![0]!;
      expect.step(
        `create ${v.name} ${v.selector} ${v.event_type} ${v.site_id} ${v.connector_id} ${v.state}`,
      );
    });
    await openAction("plant_bridge.mapping_studio");
    await contains(".o_pb_new_mapping").click();
    await contains(".o_pb_new_name").edit("Press counts", { confirm: false });
    await contains(".o_pb_new_selector").edit("plant/{site}/+/{machine}/count", { confirm: false });
    await contains(".o_pb_new_event_type").select("production");
    await contains(".o_pb_create").click();
    expect.verifySteps(["create Press counts plant/{site}/+/{machine}/count production 1 1 draft"]);
    expect(".o_pb_new_form").toHaveCount(0);
    expect(".o_pb_mapping option:selected").toHaveText(
      /Press counts · plant\/\{site\}\/\+\/\{machine\}\/count · v1 \(Draft\)/,
    );
    expect(".o_pb_expression").toHaveValue("$");
  });

  test("Exception Queue: grouped failures; edit and replay writes the payload then replays it", async () => {
    onRpc("plant_bridge.message", "action_replay_edited", ({ args }: { args: number[][] }) => {
      expect.step(`replay ${args[0]}`);
      return true;
    });
    onRpc(
      "plant_bridge.message",
      "write",
      ({ args }: { args: [number[], { payload: string }] }) => {
        expect.step(`write ${args[0]} ${args[1].payload}`);
      },
    );
    await openAction("plant_bridge.exception_queue");
    expect(queryAllTexts(".o_pb_group")).toEqual(["unknown_product\nMain Plant\n1"]);
    expect(".o_pb_error_code").toHaveText("unknown_product");
    await contains(".o_pb_payload").edit('{"type":"scrap","product":"FURN_7800","quantity":1}', {
      confirm: false,
    });
    await contains(".o_pb_replay").click();
    expect.verifySteps(['write 1 {"type":"scrap","product":"FURN_7800","quantity":1}', "replay 1"]);
  });

  test("Order Trace: the order's release, events and failures in time order", async () => {
    await openAction("plant_bridge.order_trace", { active_id: 1 });
    expect(".o_pb_mo_header").toHaveText(/WH\/MO\/00001/);
    expect(queryAllTexts(".o_pb_entry_title")).toEqual([
      "Released to the plant",
      "Acknowledged by mqtt:plant/commands",
      "Material consumption",
      "Scrap",
      "Scrap",
      "Scrap",
    ]);
    // evt-3's rejection, kept after its retry, then its success
    expect(queryAllTexts(".o_pb_entry_detail")).toEqual([
      "order_release:WH/MO/00001:1",
      "→ WH/MO/00001 Wood",
      "unknown_product: No product PB-1",
      "→ SP/00003 (2 attempts)",
      "unknown_product: No product NOPE",
    ]);
    await contains('[data-filter="failures"]').click();
    expect(queryAllTexts(".o_pb_entry_detail")).toEqual([
      "unknown_product: No product PB-1",
      "unknown_product: No product NOPE",
    ]);
  });

  test("Connector form: Test Connection asks the sidecars and shows the answer", async () => {
    onRpc("plant_bridge.connector", "action_test_connection", ({ args }: { args: number[][] }) => {
      expect.step(`test ${args[0]}`);
      return 7;
    });
    onRpc("plant_bridge.connector.test", "read", () => [
      {
        id: 7,
        state: "ok",
        result: "CONNACK",
        sidecar: "edge-1",
        duration_ms: 12,
        is_late: false,
        answered_at: false,
        site_id: [1, "Main Plant"],
      },
    ]);
    await mountView({
      type: "form",
      resModel: "plant_bridge.connector",
      resId: 1,
      arch: `<form><widget name="plant_bridge_connector_test"/><sheet><field name="name"/></sheet></form>`,
    });
    await contains(".o_pb_test_connection").click();
    expect.verifySteps(["test 1"]);
    expect(".o_pb_test_result").toHaveAttribute("data-state", "ok");
    expect(queryOne(".o_pb_test_headline").textContent).toBe("Connected");
  });
});
