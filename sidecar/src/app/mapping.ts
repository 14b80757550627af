/**
 * The low-code mapping feature, wired (main.ts and the integration rigs build it here): the JSONata sandbox (one pool
 * for plant traffic, a small one for previews), the engine with its aggregation, the Sparkplug
 * B host, the MQTT routes of mapped and Sparkplug topics, the REST routes of the Mapping Studio,
 * the configuration from Odoo or the `PLANT_BRIDGE_MAPPINGS` file, and the reports to Odoo.
 */
import type { Birth } from "../contracts/sparkplug.js";
import type { EventChecker } from "../contracts/checkers.js";
import type { HttpRoute } from "../contracts/http.js";
import type { MqttRoute } from "../contracts/mqtt.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { SiteConfig, SparkplugBinding } from "../contracts/site-config.js";
import type { MqttClient } from "mqtt";
import type { Config } from "../config.js";
import { createMappingRoutes } from "../api/mapping-studio-routes.js";
import { createSparkplugHost } from "../ingress/sparkplug/host.js";
import { createSparkplugRoute } from "../ingress/sparkplug/sparkplug-route.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/types.js";
import { createAggregator } from "../pipeline/aggregation/aggregator.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { ReplayerOptions } from "../pipeline/replay.js";
import { defineMappings, messageMappings } from "../pipeline/mapping/definition.js";
import { createMappingEngine, type MappingEngine } from "../pipeline/mapping/engine.js";
import { loadMappingFile } from "../pipeline/mapping/mapping-file.js";
import { createMappingRoute } from "../pipeline/mapping/mapping-route.js";
import { createMappingReports, type MappingReports } from "../odoo/mapping-reports.js";
import { createSampleRing, type SampleRing } from "../pipeline/mapping/samples.js";
import { startSandboxPool, type SandboxPool } from "../pipeline/mapping/sandbox/pool.js";
import { createSequencer, type Sequencer } from "../pipeline/mapping/sequencer.js";
import { createShadowLog, type ShadowLog } from "../pipeline/mapping/shadow.js";

export interface MappingOptions {
  config: Pick<Config, "site" | "mapping" | "maxMessageBytes">;
  store: Store;
  ingestor: Ingestor;
  check: EventChecker;
  logger: Logger;
  metrics: Metrics;
  /** Also told of each Sparkplug birth (beside the report to Odoo). */
  onBirth?: (birth: Birth) => void;
  /** Shorter periods and a clock for tests. @default the production values */
  tuning?: {
    /** Aggregation windows are closed every this often. */
    tickMs?: number;
    now?: () => number;
    /** A Sparkplug node is asked for a rebirth at most this often. */
    rebirthIntervalMs?: number;
    /** Samples of one topic are kept at most this often. */
    sampleIntervalMs?: number;
    hardTimeoutMs?: number;
  };
}

export interface MappingFeature {
  engine: MappingEngine;
  /** The JSONata sandbox of plant traffic (legacy rows are mapped in it too). */
  pool: SandboxPool;
  /** Every MQTT route takes its turn here, so that submissions keep arrival order. */
  sequencer: Sequencer;
  samples: SampleRing;
  /** Shadow comparisons (of messages here, of legacy rows by the legacy service). */
  shadow: ShadowLog;
  /** The routes of Sparkplug B and mapped topics (after the canonical route). */
  routes: MqttRoute[];
  /** The Mapping Studio's REST routes. */
  httpRoutes: HttpRoute[];
  /** Runs a mapped message's dead letter through its mapping again (for the replayer). */
  remap: NonNullable<ReplayerOptions["remap"]>;
  /** The MQTT connection the Sparkplug host sends its commands on. */
  attach(client: () => MqttClient | undefined): void;
  /** A site's configuration from Odoo: its mappings and confirmed Sparkplug bindings. */
  applyConfig(siteConfig: SiteConfig): void;
  /** Reports births, shadow comparisons and samples to Odoo from now on. */
  reportTo(client: OdooClient): void;
  close(): Promise<void>;
}

export async function startMapping(options: MappingOptions): Promise<MappingFeature> {
  const { config, store, ingestor, check, logger, metrics } = options;
  const tuning = options.tuning ?? {};
  const cleanups: Array<() => Promise<void>> = [];
  const sequencer = createSequencer();
  const shadow = createShadowLog({ registry: metrics.registry });
  const samples = createSampleRing(
    tuning.sampleIntervalMs === undefined ? {} : { minIntervalMs: tuning.sampleIntervalMs },
  );
  const limits = { timeoutMs: config.mapping.timeoutMs };
  const hardTimeoutMs = tuning.hardTimeoutMs ?? Math.max(1000, config.mapping.timeoutMs * 4);
  const pool = startSandboxPool({ logger, workers: config.mapping.workers, hardTimeoutMs });
  // A separate, small pool for previews: an admin's expression never delays plant traffic.
  const previewPool = startSandboxPool({ logger, workers: 1, hardTimeoutMs });
  cleanups.push(
    () => pool.close(),
    () => previewPool.close(),
  );
  const engine = createMappingEngine({
    ingestor,
    pool,
    aggregator: createAggregator({ store }),
    check,
    sequencer,
    shadow,
    samples,
    logger,
    registry: metrics.registry,
    limits,
    ...(tuning.tickMs !== undefined && { tickMs: tuning.tickMs }),
    ...(tuning.now && { now: tuning.now }),
  });
  await engine.start();
  cleanups.push(async () => {
    await engine.close();
    await ingestor.flush();
  });

  let fileBindings: SparkplugBinding[] = [];
  if (config.mapping.file) {
    const file = loadMappingFile(config.mapping.file, config.site);
    for (const [site, list] of file.mappings) {
      const { definitions, problems } = defineMappings(list, { site, origin: "file" });
      engine.setMappings(`file:${site}`, definitions, problems);
    }
    fileBindings = file.bindings;
  }
  const bindingsBySite = new Map<string, SparkplugBinding[]>();
  let bindings = fileBindings;
  let client: () => MqttClient | undefined = () => undefined;
  let reports: MappingReports | undefined;

  const sparkplug = createSparkplugHost(
    tuning.rebirthIntervalMs === undefined ? {} : { rebirthIntervalMs: tuning.rebirthIntervalMs },
  );
  const routes: MqttRoute[] = [
    ...(config.mapping.sparkplugGroups.length
      ? [
          createSparkplugRoute({
            host: sparkplug,
            engine,
            ingestor,
            sequencer,
            logger,
            site: config.site,
            groups: config.mapping.sparkplugGroups,
            publish: (topic, payload) => client()?.publish(topic, Buffer.from(payload), { qos: 0 }),
            bindings: () => bindings,
            onBirth: (birth) => {
              reports?.birth(birth);
              options.onBirth?.(birth);
            },
            registry: metrics.registry,
            maxMessageBytes: config.maxMessageBytes,
          }),
        ]
      : []),
    createMappingRoute({ engine, limits: { maxMessageBytes: config.maxMessageBytes } }),
  ];

  return {
    engine,
    pool,
    sequencer,
    samples,
    shadow,
    routes,
    httpRoutes: createMappingRoutes({
      pool: previewPool,
      check,
      defaultSite: config.site,
      samples,
      limits,
      engine,
      shadow,
      sparkplugNodes: () => sparkplug.nodes(),
    }),
    remap: (deadLetter, payload) => engine.replay(deadLetter.origin, payload),
    attach(next) {
      client = next;
    },
    applyConfig(siteConfig) {
      // Confirmed Sparkplug bindings (docs/odoo-api.md `get_config`), for `$workcenter`.
      const confirmed = siteConfig.bindings ?? [];
      bindingsBySite.set(siteConfig.site, confirmed);
      bindings = [...fileBindings, ...[...bindingsBySite.values()].flat()];
      const { definitions, problems } = defineMappings(messageMappings(siteConfig), {
        site: siteConfig.site,
        origin: "odoo",
        timezone: siteConfig.site_info?.timezone || undefined,
      });
      engine.setMappings(`odoo:${siteConfig.site}`, definitions, problems);
    },
    reportTo(odoo) {
      reports = createMappingReports({
        client: odoo,
        site: config.site,
        shadow,
        samples,
        logger,
      });
      reports.start();
      cleanups.push(() => reports!.stop());
    },
    async close() {
      for (const fn of cleanups.splice(0).reverse())
        await fn().catch((err: unknown) => logger.warn({ err }, "mapping shutdown step failed"));
    },
  };
}
