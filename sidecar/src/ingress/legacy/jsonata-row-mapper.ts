/**
 * Rows through a JSONata mapping (issue 5's engine): "rows are mapped like messages". The row is
 * the expression's input (`$` is the object of column → value), `$origin` and `$key` say where it
 * came from; what it produces gets the mapping's defaults, ids derived from the row's key (so a
 * row read again maps to the same ids), validation, and dead letters naming the mapping version
 * (origin `file:<name>:<line>#m<id>@v<n>`, replayable through the mapping). Evaluations run in
 * the mapping engine's worker pool; aggregation (windows) is a message-stream feature and is not
 * applied to legacy rows.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../../errors.js";
import type { MappingConfig } from "../../odoo/config-sync.js";
import { defineMappings, type MappingDefinition } from "../../pipeline/mapping/definition.js";
import {
  assignIds,
  checkEvents,
  evaluationJob,
  mappingRejection,
  originOf,
  producedItems,
  type SourceMessage,
} from "../../pipeline/mapping/mapper.js";
import type { SandboxPool } from "../../pipeline/mapping/sandbox/pool.js";
import {
  DEFAULT_EVALUATION_LIMITS,
  type EvaluationLimits,
} from "../../pipeline/mapping/sandbox/protocol.js";
import type { EventChecker, RowMapper } from "./rows.js";

export interface JsonataRowMapperOptions {
  pool: SandboxPool;
  check: EventChecker;
  definition: MappingDefinition;
  limits?: Partial<EvaluationLimits>;
}

export function createJsonataRowMapper(options: JsonataRowMapperOptions): RowMapper {
  const { pool, check, definition } = options;
  const limits: EvaluationLimits = { ...DEFAULT_EVALUATION_LIMITS, ...options.limits };
  return async (row, ctx) => {
    const payload = Buffer.from(
      JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    );
    const message: SourceMessage = {
      topic: ctx.origin,
      source: ctx.source,
      input: { kind: "value", value: JSON.parse(payload.toString("utf8")) as unknown },
      payload,
      receivedAt: ctx.receivedAt,
      bindings: { ...ctx.bindings, origin: ctx.origin, key: ctx.key, timezone: ctx.timezone },
    };
    const origin = originOf(definition, ctx.origin);
    const outcome = await pool.evaluate(evaluationJob(definition, message, {}, limits));
    if (!outcome.ok)
      return [mappingRejection(definition, message, outcome.code, outcome.message, origin)];
    const events = producedItems(definition, outcome, message);
    const digest = createHash("sha256").update(`${ctx.source}\0${ctx.key}`).digest("hex");
    assignIds(definition, events, outcome.keys, digest);
    return checkEvents(
      definition,
      events,
      { source: ctx.source, origin, check },
      { message, origin },
    );
  };
}

/**
 * Row mappers of a site's mappings, rebuilt when a mapping's version changes. Only `active`
 * versions map rows (a shadow version has nothing to be compared with here).
 */
export function createRowMappers(
  options: Omit<JsonataRowMapperOptions, "definition"> & {
    /** Where mappings come from: Odoo (`m<id>`) or the PLANT_BRIDGE_MAPPINGS file (`f<id>`). */
    origin: "odoo" | "file";
  },
) {
  const cache = new Map<string, RowMapper>();
  return (site: string, mapping: MappingConfig): RowMapper | undefined => {
    if (mapping.state !== "active") return undefined;
    const cacheKey = `${site}\0${mapping.id}\0${mapping.version}\0${mapping.expression}\0${mapping.key_expression ?? ""}`;
    let mapper = cache.get(cacheKey);
    if (mapper) return mapper;
    const { definitions, problems } = defineMappings([{ ...mapping, aggregation: null }], {
      site,
      origin: options.origin,
    });
    const definition = definitions[0];
    if (!definition || definition.invalid)
      throw new ConfigError(
        "config",
        `mapping ${JSON.stringify(mapping.name)}: ${problems[0]?.message ?? definition?.invalid ?? "not usable"}`,
      );
    mapper = createJsonataRowMapper({ ...options, definition });
    cache.set(cacheKey, mapper);
    return mapper;
  };
}
