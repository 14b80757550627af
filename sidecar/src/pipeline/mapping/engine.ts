/**
 * The mapping engine: for each message, the active and shadow mappings that select it are
 * evaluated (concurrently, in the JSONata sandbox); then, in arrival order (sequencer.ts), what
 * the active versions produced is aggregated when configured, validated and handed to the
 * ingestor — the same durable, idempotent pipeline as every other ingress — and what the shadow
 * versions produced is compared with it and never posted.
 */
import { assignIds, type Fields } from "../../mapping-core/events.js";
import {
  DEFAULT_EVALUATION_LIMITS,
  type EvaluationLimits,
  type EvaluationOutcome,
} from "../../mapping-core/contract.js";
import type { EventChecker } from "../../contracts/checkers.js";
import { Counter, type Registry } from "prom-client";
import type { ParsedItem } from "../../canonical/parse.js";
import type { Logger } from "../../logger.js";
import type { IngestResult, StateWrite } from "../../store/types.js";
import type { Aggregator } from "../aggregation/aggregator.js";
import { createBreaker } from "./breaker.js";
import type { Ingestor } from "../ingestor.js";
import { versionLabel, type MappingDefinition, type MappingProblem } from "./definition.js";
import {
  checkEvents,
  evaluationJob,
  mappingRejection,
  messageDigest,
  originOf,
  producedItems,
  type SourceMessage,
} from "./mapper.js";
import type { SampleRing } from "./samples.js";
import type { SandboxPool } from "./sandbox/pool.js";
import type { Sequencer } from "./sequencer.js";
import { compareShadow, type Produced as ShadowProduced, type ShadowLog } from "./shadow.js";

export interface MappingEngineOptions {
  ingestor: Ingestor;
  pool: SandboxPool;
  aggregator: Aggregator;
  check: EventChecker;
  sequencer: Sequencer;
  shadow: ShadowLog;
  logger: Logger;
  samples?: SampleRing;
  /** Registers the mapping metrics here. */
  registry?: Registry;
  limits?: Partial<EvaluationLimits>;
  /** @default Date.now */
  now?: () => number;
  /** How often windows and shift changes are checked. @default 1000 */
  tickMs?: number;
  /** Stopped evaluations of a version before it is suspended (breaker.ts). @default 3 */
  killsBeforeSuspension?: number;
  /** @default 60000 */
  suspendForMs?: number;
}

export interface MappingEngine {
  /** Replaces the mappings of one scope (`odoo:<site>`, `file`); the others stay. */
  setMappings(scope: string, definitions: MappingDefinition[], problems?: MappingProblem[]): void;
  definitions(): MappingDefinition[];
  problems(): MappingProblem[];
  /** Subscription filters of the mappings of MQTT (non-Sparkplug) topics. */
  filters(): string[];
  /** Whether an active or shadow mapping selects this topic (of this kind of source). */
  selects(topic: string, source: "mqtt" | "sparkplug"): boolean;
  /** Maps one message; resolves once what it produced is durable (at once when nothing). */
  handle(message: SourceMessage): Promise<void>;
  /**
   * Runs a dead letter of a mapping (origin `<topic>#<ref>@v<n>`) again through the mapping's
   * current active version, or a message that failed before any mapping ran (origin: its topic)
   * through every mapping of its topic; undefined when no mapping takes it.
   */
  replay(origin: string, payload: Buffer): Promise<IngestResult[] | undefined>;
  /** Loads the aggregation state and starts the clock. */
  start(): Promise<void>;
  /** Closes what the clock has closed now (the timer calls it; tests too). */
  tick(now?: number): Promise<void>;
  /** Stops the clock and waits for what was handed over. */
  close(): Promise<void>;
}

interface Match {
  definition: MappingDefinition;
  params: Record<string, string>;
}

type Produced = ShadowProduced<Fields, "mapping_error" | "schema">;

export function createMappingEngine(options: MappingEngineOptions): MappingEngine {
  const { ingestor, pool, aggregator, check, sequencer, shadow, logger } = options;
  const now = options.now ?? Date.now;
  const limits: EvaluationLimits = { ...DEFAULT_EVALUATION_LIMITS, ...options.limits };
  const scopes = new Map<
    string,
    { definitions: MappingDefinition[]; problems: MappingProblem[] }
  >();
  let all: MappingDefinition[] = [];
  let timer: NodeJS.Timeout | undefined;
  const metrics = createMappingMetrics(options.registry);

  function match(message: SourceMessage): Match[] {
    const sparkplug = message.source === "sparkplug";
    const out: Match[] = [];
    for (const definition of all) {
      if (definition.sparkplug !== sparkplug) continue;
      const params = definition.selector.match(message.topic);
      // A `{site}` segment names the site: a mapping of site A does not take site B's messages.
      if (!params || (params.site !== undefined && params.site !== definition.site)) continue;
      out.push({ definition, params });
    }
    return out;
  }

  const breaker = createBreaker({
    logger,
    now,
    ...(options.killsBeforeSuspension !== undefined && {
      stopsBeforeSuspension: options.killsBeforeSuspension,
    }),
    ...(options.suspendForMs !== undefined && { suspendForMs: options.suspendForMs }),
    onSuspend: (d) => metrics.suspensions.inc({ mapping: d.ref }),
  });

  function evaluate(m: Match, message: SourceMessage): Promise<EvaluationOutcome | undefined> {
    if (m.definition.invalid) return Promise.resolve(undefined);
    const skip = () => breaker.suspended(m.definition);
    const answer = skip();
    if (answer) return Promise.resolve(answer);
    const job = evaluationJob(m.definition, message, m.params, limits);
    // JSONata's time limit is wall-clock time: on a starved machine a fine expression can hit
    // it. One second chance before the message is dead-lettered and the stop counted.
    return pool
      .evaluate(job, skip)
      .then((outcome) => (timedOut(outcome) ? pool.evaluate(job, skip) : outcome))
      .then((outcome) => {
        if (!outcome.ok && (outcome.killed || timedOut(outcome))) breaker.stopped(m.definition);
        return outcome;
      });
  }

  /** What a version produced from a message, with defaults and ids: or why it failed. */
  function produce(
    definition: MappingDefinition,
    outcome: EvaluationOutcome | undefined,
    message: SourceMessage,
    digest: string,
  ): Produced {
    // Counted for active versions; shadow versions have their own counter.
    const count = (o: string) =>
      definition.state === "active" &&
      metrics.evaluations.inc({ mapping: definition.ref, outcome: o });
    if (!outcome || !outcome.ok) {
      count("error");
      return {
        error: outcome
          ? { code: outcome.code, message: outcome.message }
          : { code: "mapping_error", message: definition.invalid ?? "not evaluated" },
      };
    }
    count("ok");
    const events = producedItems(definition, outcome, message);
    if (!definition.aggregation) assignIds(definition, events, outcome.keys, digest);
    return { events };
  }

  /** Items (and aggregation writes) of one active version, ready for one ingest call. */
  function itemsOf(
    definition: MappingDefinition,
    produced: Produced,
    message: SourceMessage,
    digest: string,
  ): { items: ParsedItem[]; writes: StateWrite[]; origin: string } {
    const topicOrigin = originOf(definition, message.topic);
    if (produced.error) {
      return {
        items: [
          mappingRejection(
            definition,
            message,
            produced.error.code,
            produced.error.message,
            topicOrigin,
          ),
        ],
        writes: [],
        origin: topicOrigin,
      };
    }
    if (!definition.aggregation) {
      return {
        items: checkEvents(
          definition,
          produced.events,
          { source: message.source, origin: topicOrigin, check },
          { message, origin: topicOrigin },
        ),
        writes: [],
        origin: topicOrigin,
      };
    }
    const origin = originOf(definition, definition.selector.pattern);
    const emission = aggregator.apply(
      { ref: definition.ref, spec: definition.aggregation },
      produced.events,
      digest,
      message.receivedAt,
    );
    return {
      items: [
        ...checkEvents(
          definition,
          emission.events,
          { source: message.source, origin, check },
          { message, origin: topicOrigin },
        ),
        ...emission.errors.map((e) =>
          mappingRejection(
            definition,
            message,
            "mapping_error",
            `${e.message}: ${JSON.stringify(e.sample).slice(0, 500)}`,
            topicOrigin,
          ),
        ),
      ],
      writes: aggregator.takeWrites(definition.ref),
      origin,
    };
  }

  function submit(
    batches: Array<{ items: ParsedItem[]; writes: StateWrite[]; origin: string }>,
    source: SourceMessage["source"],
  ): Promise<IngestResult[]> {
    const calls = batches
      .filter((b) => b.items.length > 0 || b.writes.length > 0)
      .map((b) =>
        ingestor
          .ingest(
            b.items,
            { source, origin: b.origin },
            b.writes.length ? { state: b.writes } : undefined,
          )
          .catch((err: unknown) => {
            // Memory may now be ahead of the store: read the store again before going on.
            if (b.writes.length) aggregator.invalidate();
            throw err;
          }),
      );
    return Promise.all(calls).then((r) => r.flat());
  }

  /**
   * Runs `then` once the aggregation state is in memory: at once (synchronously, so that the
   * sequencer hands consecutive messages to the ingestor together) unless it must be read
   * (again) from the store first.
   */
  function withState<T>(matches: Match[], then: () => T): T | Promise<T> {
    const needed = matches.some((m) => m.definition.aggregation && m.definition.state === "active");
    return needed && !aggregator.isLoaded() ? aggregator.ensureLoaded().then(then) : then();
  }

  /** Evaluates every mapping of a message and submits what they produced, in arrival order. */
  function run(message: SourceMessage): Promise<IngestResult[]> {
    const matches = match(message);
    if (matches.length === 0) return Promise.resolve([]);
    const digest = message.digest ?? messageDigest(message.topic, message.payload, message.keySalt);
    const outcomes = Promise.all(matches.map((m) => evaluate(m, message)));
    return sequencer.run(outcomes, (results) =>
      withState(matches, () => {
        // Versions of one mapping share its ref: the shadow is compared with the active one.
        const active = new Map<string, { version: number; produced: Produced }>();
        const batches = [];
        for (const [i, m] of matches.entries()) {
          if (m.definition.state !== "active") continue;
          const produced = produce(m.definition, results[i], message, digest);
          active.set(m.definition.ref, { version: m.definition.version, produced });
          batches.push(itemsOf(m.definition, produced, message, digest));
        }
        for (const [i, m] of matches.entries()) {
          if (m.definition.state === "shadow")
            compareShadow(
              shadow,
              {
                topic: message.topic,
                shadow: m.definition,
                produced: produce(m.definition, results[i], message, digest),
                active: active.get(m.definition.ref),
              },
              now(),
            );
        }
        return { committed: submit(batches, message.source) };
      }),
    );
  }

  /** Runs a dead letter of one mapping version (`<topic>#<ref>@v<n>`) through it again. */
  async function replayVersion(
    topic: string,
    version: string,
    payload: Buffer,
  ): Promise<IngestResult[] | undefined> {
    const ref = /^(\w+)@v\d+$/.exec(version)?.[1];
    const definition = all.find((d) => d.ref === ref && d.state === "active");
    if (!definition) return undefined;
    const params = definition.selector.match(topic) ?? {};
    const message: SourceMessage = {
      topic,
      source: "replay",
      input: { kind: "text", text: payload.toString("utf8") },
      payload,
      receivedAt: now(),
    };
    const digest = messageDigest(topic, payload);
    const m = { definition, params };
    const outcome = await evaluate(m, message);
    return sequencer.run(outcome, (result) =>
      withState([m], () => {
        const produced = produce(definition, result, message, digest);
        return { committed: submit([itemsOf(definition, produced, message, digest)], "replay") };
      }),
    );
  }

  const engine: MappingEngine = {
    setMappings(scope, definitions, problems = []) {
      scopes.set(scope, { definitions, problems });
      all = [...scopes.values()].flatMap((s) => s.definitions);
      for (const p of problems)
        logger.warn(
          { mapping: p.id, version: p.version, name: p.name, problem: p.message },
          "mapping problem",
        );
      logger.info(
        { scope, mappings: definitions.map((d) => `${d.name} ${versionLabel(d)} ${d.state}`) },
        "mappings loaded",
      );
    },
    definitions: () => all,
    problems: () => [...scopes.values()].flatMap((s) => s.problems),
    filters: () => [...new Set(all.filter((d) => !d.sparkplug).map((d) => d.selector.filter))],
    selects: (topic, source) => match({ topic, source } as SourceMessage).length > 0,

    handle(message) {
      options.samples?.record(message.topic, message.payload, message.receivedAt, {
        sparkplug: message.source === "sparkplug",
      });
      return run(message).then(() => undefined);
    },

    async replay(origin, payload) {
      const hash = origin.lastIndexOf("#");
      if (hash < 0) {
        // A message that failed before any mapping ran (an `internal` dead letter keeps its
        // topic as origin): every mapping of the topic takes it again, as on arrival.
        const message: SourceMessage = {
          topic: origin,
          source: "replay",
          input: { kind: "text", text: payload.toString("utf8") },
          payload,
          receivedAt: now(),
        };
        return match(message).length ? run(message) : undefined;
      }
      return replayVersion(origin.slice(0, hash), origin.slice(hash + 1), payload);
    },

    async start() {
      await aggregator.ensureLoaded();
      timer = setInterval(() => {
        engine.tick().catch((err: unknown) => logger.warn({ err }, "aggregation tick failed"));
      }, options.tickMs ?? 1000);
      timer.unref();
    },

    tick(at) {
      const aggregated = all.filter((d) => d.aggregation && d.state === "active" && !d.invalid);
      if (aggregated.length === 0) return Promise.resolve();
      return sequencer.run(undefined, async () => {
        await aggregator.ensureLoaded();
        const t = at ?? now();
        const bySource = new Map<
          SourceMessage["source"],
          Array<{ items: ParsedItem[]; writes: StateWrite[]; origin: string }>
        >();
        for (const definition of aggregated) {
          const emission = aggregator.tick(
            { ref: definition.ref, spec: definition.aggregation! },
            t,
          );
          const writes = aggregator.takeWrites(definition.ref);
          const origin = originOf(definition, definition.selector.pattern);
          const source = definition.sparkplug ? "sparkplug" : "mqtt";
          const list = bySource.get(source) ?? [];
          const items = checkEvents(definition, emission.events, { source, origin, check });
          list.push({ items, writes, origin });
          bySource.set(source, list);
        }
        const committed = Promise.all(
          [...bySource].map(([source, batches]) => submit(batches, source)),
        );
        return { committed: committed.then(() => undefined) };
      });
    },

    async close() {
      clearInterval(timer);
      await sequencer.idle();
    },
  };
  return engine;
}

function timedOut(outcome: EvaluationOutcome): boolean {
  return !outcome.ok && outcome.jsonataCode === "D1012";
}

function createMappingMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    evaluations: new Counter({
      name: "plant_bridge_mapping_evaluations_total",
      help: "JSONata mapping evaluations of active versions, by mapping and outcome (ok, error).",
      labelNames: ["mapping", "outcome"],
      registers,
    }),
    suspensions: new Counter({
      name: "plant_bridge_mapping_suspensions_total",
      help: "Mapping versions suspended because their evaluations had to be killed.",
      labelNames: ["mapping"],
      registers,
    }),
  };
}
