/**
 * One table of mappings and samples run through the sidecar's mapper (definition, selector,
 * variables, the JSONata sandbox workers, defaults, derived keys, the canonical checker) and
 * through the Mapping Studio's engine (owl_src/mapping_engine, what the browser runs): the
 * preview must show what the plant will get.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import type { MappingConfig } from "../../sidecar/src/contracts/site-config.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { DEFAULT_EVALUATION_LIMITS } from "../../sidecar/src/mapping-core/contract.js";
import { assignIds } from "../../sidecar/src/mapping-core/events.js";
import { defineMappings } from "../../sidecar/src/pipeline/mapping/definition.js";
import {
  checkEvents,
  evaluationJob,
  messageDigest,
  producedItems,
} from "../../sidecar/src/pipeline/mapping/mapper.js";
import { startSandboxPool } from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { createPreviewEngine } from "../../owl_src/mapping_engine/preview.js";

interface Case {
  name: string;
  selector: string;
  topic: string;
  payload: string;
  expression: string;
  keyExpression?: string;
  eventType?: string;
  timezone?: string;
}

const RECEIVED = Date.parse("2026-11-26T08:00:00.000Z");
const SITE = "main";

const CASES: Case[] = [
  {
    name: "named segments, $params, $levels, $topic, $mapping",
    selector: "plant/{site}/{line}/{machine}/status",
    topic: "plant/main/l1/press-1/status",
    payload: '{"state": "RUN"}',
    expression:
      '{"workcenter": $machine, "status": state = "RUN" ? "running" : "idle", "attributes": {"line": $params.line, "l": $levels[2], "t": $topic, "v": $mapping.version}}',
  },
  {
    name: "a {name#} segment takes the remaining levels",
    selector: "vendor/{site}/{rest#}",
    topic: "vendor/main/hall-2/press-7/state",
    payload: '{"s": 1}',
    expression: '{"workcenter": $rest, "status": "idle", "attributes": {"p": $params}}',
  },
  {
    name: "bare text payload",
    selector: "plant/{site}/+/{machine}/#",
    topic: "plant/main/l1/m1/a/b",
    payload: "RUN",
    expression: '{"workcenter": $machine, "status": $ = "RUN" ? "running" : "idle"}',
  },
  {
    name: "broken JSON",
    selector: "plant/+/status",
    topic: "plant/x/status",
    payload: '{"state": ',
    expression: '{"workcenter": "a", "status": "idle"}',
  },
  {
    name: "defaults and derived keys of several events, epoch ms",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression:
      '[{"workcenter": "a", "status": "idle"}, {"workcenter": "b", "status": "down", "occurredAt": 1795000000000}]',
  },
  {
    name: "a local time read in the site's time zone",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: '{"at": "2026-11-26 09:30:00"}',
    expression: '{"workcenter": "a", "status": "idle", "occurredAt": at}',
    timezone: "Europe/Berlin",
  },
  {
    name: "key expression, repeated keys",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression:
      '[{"workcenter": "a", "status": "idle"}, {"workcenter": "a", "status": "down"}, {"workcenter": "b", "status": "down"}]',
    keyExpression: '"k-" & $event.workcenter',
  },
  {
    name: "an item that is no object",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression: "[1]",
  },
  {
    name: "another site",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression: '{"workcenter": "a", "status": "idle", "site": "north"}',
  },
  {
    name: "bad quantity",
    selector: "plant/{site}/scrap",
    topic: "plant/main/scrap",
    payload: "{}",
    expression: '{"type": "scrap", "product": "P", "quantity": 0}',
  },
  {
    name: "an unknown field",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression: '{"workcenter": "a", "status": "idle", "colour": "red"}',
  },
  {
    name: "a runaway expression",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression: "($f := function($n) { $f($n + 1) }; $f(0))",
  },
  {
    name: "nothing returned",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: '{"state": "ON"}',
    expression: 'state = "OFF" ? {"workcenter": "a", "status": "idle"}',
  },
  {
    name: "a key expression that gives an object",
    selector: "plant/{site}/status",
    topic: "plant/main/status",
    payload: "{}",
    expression: '{"workcenter": "a", "status": "idle"}',
    keyExpression: '{"a": 1}',
  },
];

/** What both sides agree on: the events (with ids) and their codes, or the failure. */
type Comparable =
  | { ok: true; events: Array<{ event: unknown; code: string | null }> }
  | { ok: false; code: string; stage: string; message: string };

const pool = startSandboxPool({ logger: createLogger({ level: "silent" }), workers: 1 });
afterAll(() => pool.close());
const check = createEventChecker();
const studio = createPreviewEngine();

function config(c: Case): MappingConfig {
  return {
    id: 10,
    name: "Case",
    connector_id: false,
    selector: c.selector,
    event_type: c.eventType ?? "machine_status",
    expression: c.expression,
    key_expression: c.keyExpression ?? false,
    version: 3,
    state: "active",
    aggregation: null,
  };
}

async function viaSidecar(c: Case): Promise<Comparable> {
  const { definitions } = defineMappings([config(c)], {
    site: SITE,
    origin: "odoo",
    ...(c.timezone && { timezone: c.timezone }),
  });
  const definition = definitions[0]!;
  const params = definition.selector.match(c.topic);
  if (!params) throw new Error(`${c.name}: the selector does not match`);
  const payload = Buffer.from(c.payload);
  const message = {
    topic: c.topic,
    source: "mqtt" as const,
    input: { kind: "text" as const, text: c.payload },
    payload,
    receivedAt: RECEIVED,
  };
  const outcome = await pool.evaluate(
    evaluationJob(definition, message, params, { ...DEFAULT_EVALUATION_LIMITS }),
  );
  if (!outcome.ok)
    return { ok: false, code: outcome.code, stage: outcome.stage, message: outcome.message };
  const events = producedItems(definition, outcome, message);
  assignIds(definition, events, outcome.keys, messageDigest(c.topic, payload));
  const items = checkEvents(definition, events, { source: "mqtt", origin: c.topic, check });
  return {
    ok: true,
    events: events.map((event, i) => {
      const item = items[i]!;
      return { event, code: item.kind === "event" ? null : item.rejection.code };
    }),
  };
}

const WHERE: Record<string, string> = { compile: "expression" };

async function viaStudio(c: Case): Promise<Comparable> {
  const r = await studio.preview({
    mapping: { id: 10, name: "Case", version: 3 },
    ref: "m10",
    expression: c.expression,
    ...(c.keyExpression && { keyExpression: c.keyExpression }),
    eventType: c.eventType ?? "machine_status",
    site: SITE,
    selector: c.selector,
    source: c.topic,
    payload: c.payload,
    receivedAt: new Date(RECEIVED).toISOString(),
    ...(c.timezone && { timezone: c.timezone }),
  });
  if (r.error)
    return { ok: false, code: r.error.code, stage: r.error.where, message: r.error.message };
  return {
    ok: true,
    events: r.events.map((e) => ({
      event: e.event,
      code: e.validation.ok ? null : e.validation.code!,
    })),
  };
}

describe("the Mapping Studio's preview gives what the sidecar gives", () => {
  test.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const sidecar = await viaSidecar(c);
    const browser = await viaStudio(c);
    if (!sidecar.ok) sidecar.stage = WHERE[sidecar.stage] ?? sidecar.stage;
    expect(browser).toEqual(sidecar);
  });

  test("the table covers events, rejections and failures", async () => {
    const outcomes = await Promise.all(CASES.map(viaSidecar));
    expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThanOrEqual(3);
    const codes = outcomes.flatMap((o) => (o.ok ? o.events.map((e) => e.code) : []));
    expect(codes).toContain(null);
    expect(new Set(codes.filter(Boolean))).toEqual(
      new Set(["unauthorized", "bad_quantity", "schema"]),
    );
  });
});
