/**
 * Mappings from a local JSON file (`PLANT_BRIDGE_MAPPINGS`), for a sidecar without Odoo or to
 * try mappings before they are configured in Odoo. The file holds a list of mappings, or
 * `{"mappings": [...]}`, in the shape Odoo's `get_config` gives (camelCase accepted too):
 *
 * ```json
 * [{"name": "Line 1 counters", "selector": "acme/{site}/{line}/{machine}/counters",
 *   "event_type": "production", "expression": "{\"order\": wo, \"quantity\": good}",
 *   "aggregation": {"window": "15m"}}]
 * ```
 * `id` defaults to the position (1, 2...), `version` to 1, `state` to `active`, `site` to the
 * default site; `origin_id` names the first version of the mapping this entry is a version of
 * (a `shadow` version is compared with the active version of the same origin). `{"mappings": [...], "bindings": [{"group", "edge", "device", "workcenter"}]}`
 * also binds Sparkplug edge nodes or devices to work centers (`$workcenter`), as confirmed
 * bindings from Odoo do.
 */
import type { MappingConfig, SparkplugBinding } from "../../contracts/site-config.js";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigValidationError } from "../../config.js";

const entry = z
  .object({
    id: z.number().int().positive().optional(),
    name: z.string().min(1).max(200).optional(),
    site: z.string().min(1).max(64).optional(),
    selector: z.string().min(1),
    event_type: z.string().optional(),
    eventType: z.string().optional(),
    expression: z.string().min(1),
    key_expression: z.string().nullable().optional(),
    keyExpression: z.string().nullable().optional(),
    version: z.number().int().positive().optional(),
    origin_id: z.number().int().positive().optional(),
    originId: z.number().int().positive().optional(),
    state: z.enum(["draft", "shadow", "active", "archived"]).optional(),
    aggregation: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .strict();
const binding = z
  .object({
    group: z.string().min(1),
    edge: z.string().min(1),
    device: z.string().min(1).nullable().default(null),
    workcenter: z.string().min(1),
  })
  .strict();
const file = z.union([
  z.array(entry),
  z.object({ mappings: z.array(entry), bindings: z.array(binding).default([]) }).strict(),
]);

export interface MappingFile {
  /** Mappings by site. */
  mappings: Map<string, MappingConfig[]>;
  bindings: SparkplugBinding[];
}

/** The file's mappings and bindings; throws `ConfigValidationError` naming what is wrong. */
export function loadMappingFile(path: string, defaultSite: string): MappingFile {
  const fail = (why: string) =>
    new ConfigValidationError([`PLANT_BRIDGE_MAPPINGS: ${path}: ${why}`]);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code ?? `not valid JSON (${(err as Error).message})`);
  }
  const parsed = file.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.mappings;
  const bySite = new Map<string, MappingConfig[]>();
  list.forEach((m, i) => {
    const eventType = m.event_type ?? m.eventType;
    if (!eventType) throw fail(`${i}: event_type is required`);
    const site = m.site ?? defaultSite;
    const originId = m.origin_id ?? m.originId;
    const config: MappingConfig = {
      id: m.id ?? i + 1,
      name: m.name ?? `mapping ${i + 1}`,
      connector_id: null,
      selector: m.selector,
      event_type: eventType,
      expression: m.expression,
      key_expression: m.key_expression ?? m.keyExpression ?? null,
      version: m.version ?? 1,
      state: m.state ?? "active",
      aggregation: m.aggregation ?? null,
      ...(originId !== undefined && { origin_id: originId }),
    };
    bySite.set(site, [...(bySite.get(site) ?? []), config]);
  });
  return { mappings: bySite, bindings: Array.isArray(parsed.data) ? [] : parsed.data.bindings };
}
