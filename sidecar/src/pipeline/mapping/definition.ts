/**
 * Mappings as the sidecar runs them, built from what Odoo's `get_config` (or the local
 * `PLANT_BRIDGE_MAPPINGS` file) says. Only `active` and `shadow` versions run; a mapping whose
 * selector cannot be subscribed to is left out with a problem; one whose expression or
 * aggregation is wrong still runs, so that every message it selects becomes a `mapping_error`
 * dead letter naming the version (an admin sees it in the exception queue, fixes and replays).
 */
import type { MappingConfig, SiteConfig } from "../../contracts/site-config.js";
import jsonata from "jsonata";
import { EVENT_TYPES, type EventType } from "../../canonical/schema.js";
import { parseAggregation, type AggregationSpec } from "../aggregation/spec.js";
import { compileSelector, isSparkplugPattern, type Selector } from "../../mapping-core/selector.js";

export interface MappingDefinition {
  /**
   * Stable reference across versions: `m<first version's id>` for Odoo mappings (Odoo keeps each
   * version as a record of one lineage, `origin_id`), `f<id>` for file mappings. Derived
   * idempotency keys and aggregation state belong to it, so a new version neither posts a
   * redelivered message again nor restarts a counter.
   */
  ref: string;
  /** The version's own id (Odoo: its record). */
  id: number;
  name: string;
  version: number;
  state: "active" | "shadow";
  /** Order among mappings selecting the same message. */
  sequence: number;
  site: string;
  selector: Selector;
  /** Selects decoded Sparkplug B messages (`spBv1.0/...`) rather than MQTT payloads. */
  sparkplug: boolean;
  eventType: EventType;
  expression: string;
  keyExpression?: string;
  aggregation?: AggregationSpec;
  /** The site's IANA time zone: local times without an offset are read in it. */
  timezone?: string;
  /** Why every message of this mapping fails (the expression or aggregation is wrong). */
  invalid?: string;
}

export interface MappingProblem {
  id: number;
  name: string;
  version: number;
  message: string;
}

/** Largest expression accepted (an expression is configuration, not data). */
export const MAX_EXPRESSION_CHARS = 64 * 1024;

export function defineMappings(
  configs: readonly MappingConfig[],
  context: { site: string; origin: "odoo" | "file"; timezone?: string | undefined },
): { definitions: MappingDefinition[]; problems: MappingProblem[] } {
  const definitions: MappingDefinition[] = [];
  const problems: MappingProblem[] = [];
  configs.forEach((config, sequence) => {
    if (config.state !== "active" && config.state !== "shadow") return;
    const problem = (message: string) =>
      problems.push({ id: config.id, name: config.name, version: config.version, message });
    let selector: Selector;
    try {
      selector = compileSelector(config.selector);
    } catch (err) {
      problem((err as Error).message);
      return;
    }
    const eventType = (EVENT_TYPES as readonly string[]).includes(config.event_type)
      ? (config.event_type as EventType)
      : undefined;
    if (!eventType) {
      problem(`unknown event type ${JSON.stringify(config.event_type)}`);
      return;
    }
    const definition: MappingDefinition = {
      ref: `${context.origin === "odoo" ? "m" : "f"}${config.origin_id || config.id}`,
      id: config.id,
      name: config.name,
      version: config.version,
      state: config.state,
      sequence,
      site: context.site,
      selector,
      sparkplug: isSparkplugPattern(config.selector),
      eventType,
      expression: config.expression,
      ...(config.key_expression && { keyExpression: config.key_expression }),
      ...(context.timezone && { timezone: context.timezone }),
    };
    const invalid = [
      checkExpression("expression", config.expression),
      config.key_expression ? checkExpression("key expression", config.key_expression) : undefined,
    ].find((m) => m !== undefined);
    try {
      const aggregation = parseAggregation(config.aggregation, eventType, context.timezone);
      if (aggregation) definition.aggregation = aggregation;
    } catch (err) {
      definition.invalid = `aggregation: ${(err as Error).message}`;
    }
    if (invalid) definition.invalid = invalid;
    if (definition.invalid) problem(definition.invalid);
    definitions.push(definition);
  });
  return { definitions, problems };
}

/**
 * The mappings of messages (MQTT, Sparkplug B): not those of a file drop, SQL or HTTP connector,
 * nor those a schedule runs (legacy pulls map their rows themselves).
 */
export function messageMappings(config: Pick<SiteConfig, "mappings" | "connectors" | "schedules">) {
  const otherConnectors = new Set(
    config.connectors.filter((c) => c.kind !== "mqtt").map((c) => c.id),
  );
  const scheduled = new Set(config.schedules.map((s) => s.mapping_id).filter((id) => id));
  return config.mappings.filter(
    (m) => !(m.connector_id && otherConnectors.has(m.connector_id)) && !scheduled.has(m.id),
  );
}

/** A syntax error found now (the parser runs nothing), reported with its position. */
export function checkExpression(what: string, expression: string): string | undefined {
  if (typeof expression !== "string" || expression.trim() === "") return `the ${what} is empty`;
  if (expression.length > MAX_EXPRESSION_CHARS)
    return `the ${what} is longer than ${MAX_EXPRESSION_CHARS} characters`;
  try {
    jsonata(expression);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string; position?: number };
    return `the ${what} does not compile: ${e.code ?? ""} ${e.message ?? String(err)}${
      e.position === undefined ? "" : ` (at ${e.position})`
    }`.replace(/ {2,}/g, " ");
  }
}

/** The label of a version in messages and origins: `m12@v3`. */
export function versionLabel(d: Pick<MappingDefinition, "ref" | "version">): string {
  return `${d.ref}@v${d.version}`;
}
