/**
 * Rows through a JSONata mapping (issue 5's engine): "rows are mapped like messages". The row is
 * the expression's input (`$` is the object of column → value), `$origin` and `$key` say where it
 * came from; what it produces gets the mapping's defaults, ids derived from the row's key (so a
 * row read again maps to the same ids), validation, and dead letters naming the mapping version
 * (origin `file:<name>:<line>#m<id>@v<n>`, replayable through the mapping). Evaluations run in
 * the mapping engine's worker pool; aggregation (windows) is a message-stream feature and is not
 * applied to legacy rows.
 *
 * Like messages, rows are recent samples for the Mapping Studio (per connector, samples.ts), and
 * the shadow versions of the mapping (same lineage) run beside the active one: compared through
 * the engine's shadow log (shadow.ts), never posted.
 */
import { assignIds, type Fields } from "../../mapping-core/events.js";
import {
  DEFAULT_EVALUATION_LIMITS,
  type EvaluationLimits,
  type EvaluationOutcome,
} from "../../mapping-core/contract.js";
import type { EventChecker } from "../../contracts/checkers.js";
import type { MappingConfig } from "../../contracts/site-config.js";
import { createHash } from "node:crypto";
import { ConfigError } from "../../errors.js";
import { defineMappings, type MappingDefinition } from "../../pipeline/mapping/definition.js";
import {
  checkEvents,
  evaluationJob,
  mappingRejection,
  originOf,
  producedItems,
  type SourceMessage,
} from "../../pipeline/mapping/mapper.js";
import type { SampleRing } from "../../pipeline/mapping/samples.js";
import type { SandboxPool } from "../../pipeline/mapping/sandbox/pool.js";
import { compareShadow, type Produced, type ShadowLog } from "../../pipeline/mapping/shadow.js";
import type { RowMapperContext } from "./runner.js";
import type { RowMapper } from "./rows.js";

export interface JsonataRowMapperOptions {
  pool: SandboxPool;
  check: EventChecker;
  definition: MappingDefinition;
  limits?: Partial<EvaluationLimits>;
  /** Shadow versions of the same mapping (same `ref`), evaluated and compared, never posted. */
  shadows?: readonly MappingDefinition[];
  /** Where comparisons are recorded (the mapping engine's: API and Odoo reports). */
  shadow?: ShadowLog;
  /** Where rows are kept as recent samples (the mapping engine's ring). */
  samples?: SampleRing;
  /** The connector the rows come from (names the samples). */
  connector?: { id: number; name: string };
  /** @default Date.now */
  now?: () => number;
}

export function createJsonataRowMapper(options: JsonataRowMapperOptions): RowMapper {
  const { pool, check, definition } = options;
  const shadows = options.shadow ? (options.shadows ?? []) : [];
  const now = options.now ?? Date.now;
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
    if (options.samples && options.connector && isRowSource(ctx.source))
      options.samples.record(ctx.origin, payload, ctx.receivedAt, {
        row: {
          source: ctx.source,
          site: ctx.site,
          connectorId: options.connector.id,
          connector: options.connector.name,
        },
      });
    const origin = originOf(definition, ctx.origin);
    const evaluate = (d: MappingDefinition): Promise<EvaluationOutcome | undefined> =>
      d.invalid ? Promise.resolve(undefined) : pool.evaluate(evaluationJob(d, message, {}, limits));
    const [outcome, ...shadowOutcomes] = await Promise.all([definition, ...shadows].map(evaluate));
    const digest = createHash("sha256").update(`${ctx.source}\0${ctx.key}`).digest("hex");
    const produce = (d: MappingDefinition, o: EvaluationOutcome | undefined): Produced<Fields> => {
      if (!o) return { error: { code: "mapping_error", message: d.invalid ?? "not evaluated" } };
      if (!o.ok) return { error: { code: o.code, message: o.message } };
      const events = producedItems(d, o, message);
      assignIds(d, events, o.keys, digest);
      return { events };
    };
    const active = produce(definition, outcome);
    shadows.forEach((d, i) =>
      compareShadow(
        options.shadow!,
        {
          topic: ctx.origin,
          shadow: d,
          produced: produce(d, shadowOutcomes[i]),
          active: { version: definition.version, produced: active },
        },
        now(),
      ),
    );
    if (!outcome?.ok)
      return [
        mappingRejection(
          definition,
          message,
          outcome?.code ?? "mapping_error",
          active.error!.message,
          origin,
        ),
      ];
    return checkEvents(
      definition,
      active.events!,
      { source: ctx.source, origin, check },
      { message, origin },
    );
  };
}

function isRowSource(source: string): source is "file" | "sql" | "http" {
  return source === "file" || source === "sql" || source === "http";
}

/**
 * Row mappers of a site's mappings, rebuilt when a mapping's version (or one of its shadow
 * versions) changes. Only `active` versions map rows; `shadow` versions of the same lineage run
 * beside them.
 */
export function createRowMappers(
  options: Omit<JsonataRowMapperOptions, "definition" | "shadows" | "connector"> & {
    /** Where mappings come from: Odoo (`m<id>`) or the PLANT_BRIDGE_MAPPINGS file (`f<id>`). */
    origin: "odoo" | "file";
  },
) {
  const cache = new Map<string, RowMapper>();
  const fingerprint = (m: MappingConfig) =>
    `${m.id}\0${m.version}\0${m.state}\0${m.expression}\0${m.key_expression ?? ""}`;
  return (
    site: string,
    mapping: MappingConfig,
    context?: Partial<RowMapperContext>,
  ): RowMapper | undefined => {
    if (mapping.state !== "active") return undefined;
    const { definitions, problems } = defineMappings(
      [mapping, ...(context?.mappings ?? []).filter((m) => m.state === "shadow")].map((m) => ({
        ...m,
        aggregation: null,
      })),
      { site, origin: options.origin },
    );
    const definition = definitions[0];
    if (!definition || definition.id !== mapping.id || definition.invalid)
      throw new ConfigError(
        "config",
        `mapping ${JSON.stringify(mapping.name)}: ${problems.find((p) => p.id === mapping.id)?.message ?? "not usable"}`,
      );
    const shadows = definitions.filter((d) => d.state === "shadow" && d.ref === definition.ref);
    const connector = context?.connector;
    const cacheKey = [
      site,
      connector ? `${connector.id}\0${connector.name}` : "",
      fingerprint(mapping),
      ...shadows.map((d) => fingerprint(context!.mappings!.find((m) => m.id === d.id)!)),
    ].join("\0");
    let mapper = cache.get(cacheKey);
    if (mapper) return mapper;
    mapper = createJsonataRowMapper({
      ...options,
      definition,
      shadows,
      ...(connector && { connector: { id: connector.id, name: connector.name } }),
    });
    cache.set(cacheKey, mapper);
    return mapper;
  };
}
