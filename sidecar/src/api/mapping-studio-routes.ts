/**
 * The Mapping Studio's contract with the sidecar: given a mapping (selector, expression, key
 * expression, aggregation) and sample payloads — given, or the recent real ones of matching
 * topics — what canonical events it would produce, or why not. Runs in the same sandbox as live
 * traffic (its own pool, so a hostile preview cannot slow the plant down) and posts nothing.
 *
 * `previewMapping` is a plain function; `createMappingRoutes` exposes it and the live views
 * (mappings, shadow comparisons, recent samples, Sparkplug nodes) as REST routes:
 * `POST /api/v1/mappings/preview`, `GET /api/v1/mappings`, `GET /api/v1/mappings/shadow`,
 * `GET /api/v1/samples`, `GET /api/v1/samples/rows`, `GET /api/v1/sparkplug/nodes`.
 */
import { assignIds } from "../mapping-core/events.js";
import { DEFAULT_EVALUATION_LIMITS, type EvaluationLimits } from "../mapping-core/contract.js";
import type { EventChecker } from "../contracts/checkers.js";
import type { HttpRoute, Principal } from "../contracts/http.js";
import type http from "node:http";
import { z } from "zod";
import type { ParsedItem } from "../canonical/parse.js";
import { createAggregator, type Fields } from "../pipeline/aggregation/aggregator.js";
import { defineMappings, type MappingDefinition } from "../pipeline/mapping/definition.js";
import type { MappingEngine } from "../pipeline/mapping/engine.js";
import {
  checkEvents,
  evaluationJob,
  messageDigest,
  producedItems,
  type SourceMessage,
} from "../pipeline/mapping/mapper.js";
import { rowColumns, type SampleRing } from "../pipeline/mapping/samples.js";
import type { SandboxPool } from "../pipeline/mapping/sandbox/pool.js";
import type { ShadowLog } from "../pipeline/mapping/shadow.js";
import type { Store } from "../store/types.js";
import { hasScope, maySite } from "./auth.js";

const MAX_SAMPLES = 100;

export const previewRequestSchema = z
  .object({
    mapping: z
      .object({
        name: z.string().max(200).optional(),
        selector: z.string().min(1).max(1024).default("#"),
        expression: z
          .string()
          .min(1)
          .max(64 * 1024),
        keyExpression: z
          .string()
          .max(64 * 1024)
          .nullable()
          .optional(),
        eventType: z.string().default("machine_status"),
        aggregation: z.record(z.string(), z.unknown()).nullable().optional(),
        site: z.string().min(1).max(64).optional(),
        timezone: z.string().optional(),
      })
      .strict(),
    /** `payload`: the message as text, or a JSON value (sent as its JSON text). */
    samples: z
      .array(z.object({ topic: z.string().max(1024).optional(), payload: z.unknown() }).strict())
      .max(MAX_SAMPLES)
      .default([]),
    /** Also try the mapping on up to this many recent real messages of matching topics. */
    recent: z.number().int().min(0).max(MAX_SAMPLES).default(0),
    /** Recent samples of this connector only (legacy rows are found by their connector). */
    connector: z.number().int().positive().optional(),
  })
  .strict();

export type PreviewRequest = z.input<typeof previewRequestSchema>;

export interface PreviewSampleResult {
  topic: string;
  /** Whether the selector selects this topic (a sample whose topic does not is still tried). */
  matched: boolean;
  params: Record<string, string>;
  /** Valid canonical events (before aggregation when the mapping aggregates). */
  events: Fields[];
  /** Produced events that are not valid canonical events, with the stable code. */
  rejections: Array<{ code: string; message: string; event?: unknown }>;
  /** The evaluation failed: `mapping_error` (or `schema` for a forbidden key in the payload). */
  error?: { code: string; stage?: string; message: string; position?: number };
}

export interface PreviewResult {
  /** The mapping compiles and every sample mapped without error or rejection. */
  ok: boolean;
  /** Problems of the mapping itself (selector, expression syntax, aggregation). */
  problems: string[];
  selector?: { filter: string; names: string[] };
  results: PreviewSampleResult[];
  /** What the aggregation would post after these samples, with every window closed. */
  aggregated?: { events: Fields[]; rejections: Array<{ code: string; message: string }> };
}

export interface PreviewOptions {
  pool: SandboxPool;
  check: EventChecker;
  defaultSite: string;
  samples?: SampleRing;
  limits?: Partial<EvaluationLimits>;
}

/** Evaluates a mapping on samples; never posts, never throws on a bad mapping (it says why). */
export async function previewMapping(
  options: PreviewOptions,
  request: PreviewRequest,
): Promise<PreviewResult> {
  const req = previewRequestSchema.parse(request);
  const site = req.mapping.site ?? options.defaultSite;
  const limits = { ...DEFAULT_EVALUATION_LIMITS, ...options.limits };
  const { definitions, problems } = defineMappings(
    [
      {
        id: 0,
        name: req.mapping.name ?? "preview",
        connector_id: null,
        selector: req.mapping.selector,
        event_type: req.mapping.eventType,
        expression: req.mapping.expression,
        key_expression: req.mapping.keyExpression ?? null,
        version: 0,
        state: "active",
        aggregation: req.mapping.aggregation ?? null,
      },
    ],
    { site, origin: "odoo", timezone: req.mapping.timezone },
  );
  const definition = definitions[0];
  const result: PreviewResult = {
    ok: false,
    problems: problems.map((p) => p.message),
    results: [],
  };
  if (!definition) return result;
  result.selector = { filter: definition.selector.filter, names: definition.selector.names };
  if (definition.invalid) return result;

  const given = req.samples.map((s) => ({
    topic: s.topic ?? exampleTopic(definition),
    text: typeof s.payload === "string" ? s.payload : (JSON.stringify(s.payload) ?? "null"),
  }));
  const recent =
    (req.recent > 0 &&
      options.samples?.list({
        selector: req.mapping.selector,
        ...(req.connector !== undefined && { connector: req.connector }),
        limit: req.recent,
      })) ||
    [];
  const inputs = [
    ...given,
    ...recent.map((s) => ({
      topic: s.topic,
      text: s.encoding === "utf8" ? s.payload : Buffer.from(s.payload, "base64").toString("utf8"),
    })),
  ];
  const receivedAt = Date.now();
  const produced: Array<{ message: SourceMessage; events: Fields[]; digest: string }> = [];
  result.results = await Promise.all(
    inputs.map(async ({ topic, text }): Promise<PreviewSampleResult> => {
      const params = definition.selector.match(topic);
      const payload = Buffer.from(text, "utf8");
      const message: SourceMessage = {
        topic,
        source: definition.sparkplug ? "sparkplug" : "mqtt",
        input: { kind: "text", text },
        payload,
        receivedAt,
      };
      const base = {
        topic,
        matched: params !== undefined,
        params: params ?? {},
        events: [],
        rejections: [],
      };
      const outcome = await options.pool.evaluate(
        evaluationJob(definition, message, params ?? {}, limits),
      );
      if (!outcome.ok) {
        const { code, stage, message: text_, position } = outcome;
        return {
          ...base,
          error: { code, stage, message: text_, ...(position !== undefined && { position }) },
        };
      }
      const events = producedItems(definition, outcome, message);
      const digest = messageDigest(topic, payload);
      if (definition.aggregation) {
        produced.push({ message, events, digest });
        return { ...base, events };
      }
      assignIds(definition, events, outcome.keys, digest);
      const items = checkEvents(definition, events, {
        source: message.source,
        origin: topic,
        check: options.check,
      });
      return { ...base, ...split(items) };
    }),
  );
  if (definition.aggregation) result.aggregated = await dryRun(definition, produced, options.check);
  result.ok =
    result.results.every((r) => !r.error && r.rejections.length === 0) &&
    (result.aggregated?.rejections.length ?? 0) === 0;
  return result;
}

/** Runs the aggregation on scratch state and closes every window at the end. */
async function dryRun(
  definition: MappingDefinition,
  produced: Array<{ message: SourceMessage; events: Fields[]; digest: string }>,
  check: PreviewOptions["check"],
): Promise<NonNullable<PreviewResult["aggregated"]>> {
  const scratch = { listState: async () => [] } as unknown as Store;
  const aggregator = createAggregator({ store: scratch });
  await aggregator.ensureLoaded();
  const target = { ref: "preview", spec: definition.aggregation! };
  const events: Fields[] = [];
  const rejections: Array<{ code: string; message: string }> = [];
  for (const p of produced) {
    const e = aggregator.apply(target, p.events, p.digest, p.message.receivedAt);
    events.push(...e.events);
    rejections.push(...e.errors.map((x) => ({ code: "mapping_error", message: x.message })));
  }
  const end =
    Math.max(Date.now(), ...events.map((e) => Date.parse(String(e.occurredAt)) || 0)) +
    366 * 86_400_000;
  events.push(...aggregator.tick(target, end).events);
  const items = checkEvents(definition, events, { source: "mqtt", origin: "preview", check });
  const s = split(items);
  return { events: s.events, rejections: [...s.rejections, ...rejections] };
}

function split(items: ParsedItem[]): Pick<PreviewSampleResult, "events" | "rejections"> {
  const out: Pick<PreviewSampleResult, "events" | "rejections"> = { events: [], rejections: [] };
  for (const item of items) {
    if (item.kind === "event") out.events.push(item.event as unknown as Fields);
    else {
      let event: unknown;
      try {
        event = JSON.parse(item.rejection.payload);
      } catch {
        event = undefined;
      }
      out.rejections.push({
        code: item.rejection.code,
        message: item.rejection.message,
        ...(event !== undefined && { event }),
      });
    }
  }
  return out;
}

/** A topic the selector selects, for samples given without one: named segments by name. */
function exampleTopic(definition: MappingDefinition): string {
  let i = 0;
  return definition.selector.pattern
    .split("/")
    .map((level) => {
      const named = /^\{(\w+)#?\}$/.exec(level);
      if (named) return named[1] === "site" ? definition.site : named[1]!;
      return level === "+" || level === "#" ? `level${++i}` : level;
    })
    .join("/");
}

export interface MappingRoutesOptions extends PreviewOptions {
  engine?: MappingEngine;
  shadow?: ShadowLog;
  /** The Sparkplug host's view of edge nodes and devices. */
  sparkplugNodes?: () => unknown;
}

/** The REST routes of mappings (registered through the HTTP server's `extraRoutes`). */
export function createMappingRoutes(options: MappingRoutesOptions): HttpRoute[] {
  /**
   * A GET route. `plantWide`: what it serves belongs to no single site (raw topics, edge nodes),
   * so a token restricted to sites may not read it; the others filter by the token's sites.
   */
  const get = (
    path: string,
    scope: string,
    body: (url: URL, site: (site: string | undefined) => boolean) => unknown,
    plantWide = false,
  ): HttpRoute => ({
    path,
    async handle(req, res, ctx) {
      if (req.method !== "GET") return send(res, 405, { error: "use GET" });
      const principal = ctx.principal;
      if (!principal || !allowed(principal, scope))
        return send(res, 403, { error: `this token lacks the ${scope} scope` });
      if (plantWide && principal.sites !== undefined)
        return send(res, 403, {
          error: "this route serves every site: a token restricted to sites cannot read it",
        });
      const mine = (site: string | undefined) =>
        principal.sites === undefined || (site !== undefined && maySite(principal, site));
      let answer: unknown;
      try {
        answer = body(ctx.url, mine);
      } catch (err) {
        return send(res, 400, { error: (err as Error).message });
      }
      return send(res, 200, answer);
    },
  });
  const limit = (url: URL) =>
    Math.min(500, Math.max(1, Number(url.searchParams.get("limit") ?? 50) || 50));
  return [
    {
      path: "/api/v1/mappings/preview",
      async handle(req, res, ctx) {
        if (req.method !== "POST") return send(res, 405, { error: "use POST" });
        if (!ctx.principal || !allowed(ctx.principal, "admin"))
          return send(res, 403, { error: "this token lacks the admin scope" });
        const body = await ctx.readBody();
        if (!body) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          return send(res, 400, { error: "the body is not JSON" });
        }
        const request = previewRequestSchema.safeParse(parsed);
        if (!request.success) {
          const issue = request.error.issues[0]!;
          return send(res, 400, { error: `${issue.path.join(".") || "body"}: ${issue.message}` });
        }
        const site = request.data.mapping.site ?? options.defaultSite;
        if (!maySite(ctx.principal, site))
          return send(res, 403, { error: `this token may not act on site ${site}` });
        return send(res, 200, await previewMapping(options, request.data));
      },
    },
    get("/api/v1/mappings", "read:messages", (_url, mine) => ({
      mappings: (options.engine?.definitions() ?? [])
        .filter((d) => mine(d.site))
        .map((d) => ({
          id: d.id,
          ref: d.ref,
          name: d.name,
          version: d.version,
          state: d.state,
          site: d.site,
          selector: d.selector.pattern,
          filter: d.selector.filter,
          eventType: d.eventType,
          aggregation: d.aggregation?.kind ?? null,
          invalid: d.invalid ?? null,
        })),
      // problems name no site: only for tokens of every site
      problems: mine(undefined) ? (options.engine?.problems() ?? []) : [],
      shadow: (options.shadow?.stats() ?? []).filter((st) => mine(st.site)),
    })),
    get("/api/v1/mappings/shadow", "read:messages", (url, mine) => {
      const id = url.searchParams.get("mapping");
      return {
        comparisons: (
          options.shadow?.list(id === null ? undefined : Number(id), limit(url)) ?? []
        ).filter((c) => mine(c.site)),
      };
    }),
    get(
      "/api/v1/samples",
      "read:messages",
      (url) => ({
        topics: options.samples?.topics() ?? [],
        samples:
          options.samples?.list({
            ...(url.searchParams.get("selector") && {
              selector: url.searchParams.get("selector")!,
            }),
            ...(connectorParam(url) !== undefined && { connector: connectorParam(url)! }),
            limit: limit(url),
          }) ?? [],
      }),
      true,
    ),
    // A connector's last rows and their columns (what a row mapping can name). Rows belong to
    // their connector's site: a token restricted to sites reads the rows of its sites only.
    get("/api/v1/samples/rows", "read:messages", (url, mine) => {
      const connector = connectorParam(url);
      if (connector === undefined) throw new Error("connector: the id of a source connector");
      const rows = (options.samples?.list({ connector, limit: limit(url) }) ?? []).filter((s) =>
        mine(s.site),
      );
      return { connector, rows, columns: rowColumns(rows) };
    }),
    get(
      "/api/v1/sparkplug/nodes",
      "read:messages",
      () => ({ nodes: options.sparkplugNodes?.() ?? [] }),
      true,
    ),
  ];
}

/** `?connector=3`: the samples of one connector (legacy rows); anything else is ignored. */
function connectorParam(url: URL): number | undefined {
  const n = Number(url.searchParams.get("connector") ?? Number.NaN);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function allowed(principal: Principal, scope: string): boolean {
  return hasScope(principal, scope);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}
