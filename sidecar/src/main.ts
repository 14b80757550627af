import { readFileSync } from "node:fs";
import type { HttpServer } from "./api/http-server.js";
import { startHousekeeping } from "./app/housekeeping.js";
import { startHttp } from "./app/http.js";
import { createLegacySinksFor, startLegacy, type LegacyService } from "./app/legacy.js";
import { openCore } from "./app/core.js";
import { startMapping } from "./app/mapping.js";
import { mqttCredentials, startMqtt } from "./app/mqtt.js";
import { createOdooLinkIfConfigured, type OdooLink } from "./app/odoo-link.js";
import { createShutdownStack } from "./app/shutdown.js";
import { describeConfig, type Config } from "./config.js";
import type { EmbeddedBroker } from "./ingress/mqtt/embedded-broker.js";
import type { MqttIngress } from "./ingress/mqtt/mqtt-ingress.js";
import { createLogger, type Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { projectPath } from "./paths.js";
import type { Bus } from "./pipeline/bus.js";
import type { Ingestor } from "./pipeline/ingestor.js";
import type { MappingEngine } from "./pipeline/mapping/engine.js";
import { createReplayer } from "./pipeline/replay.js";
import { startSimulator, type Simulator } from "./sim/simulator.js";
import type { Store } from "./store/types.js";

export const VERSION: string = (
  JSON.parse(readFileSync(projectPath("package.json"), "utf8")) as { version: string }
).version;

export interface SidecarOptions {
  config: Config;
  logger?: Logger;
  /** Start the plant simulator. @default false */
  simulate?: boolean;
  /**
   * Reads the Odoo API key configured now, for a rotation without restart (SIGHUP, or Odoo
   * refusing the current key). @default none: the key of `config` only
   */
  readApiKey?: () => string | undefined;
}

export interface Sidecar {
  config: Config;
  store: Store;
  metrics: Metrics;
  bus: Bus;
  ingestor: Ingestor;
  http: HttpServer;
  mqtt: MqttIngress;
  /** Low-code mappings (JSONata) and aggregations. */
  mappings: MappingEngine;
  /** The embedded broker when no PLANT_BRIDGE_MQTT_URL is set. */
  broker?: EmbeddedBroker;
  /** Posting, config sync, releases and heartbeats, when Odoo is configured. */
  odoo?: OdooLink;
  /** Scheduled legacy pulls (files, SQL, HTTP), reconciliation and legacy sinks. */
  legacy: LegacyService;
  simulator?: Simulator;
  /** Graceful shutdown: stop intake, finish in-flight commits, close the store. */
  stop(): Promise<void>;
}

/**
 * The composition root: builds each feature (app/) from the configuration and orders them.
 * Shutdown runs in reverse: HTTP first, then legacy pulls, Odoo, the MQTT intake, mappings, the
 * store last.
 */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  logger.info(
    { version: VERSION, config: describeConfig(config) },
    "Plant Bridge sidecar starting",
  );
  const parts = createShutdownStack(logger);
  const core = parts.add(await openCore(config, logger));
  try {
    const mapping = parts.add(await startMapping(core));
    const replay = createReplayer({ ...core, remap: mapping.remap });
    const mqtt = parts.add(await startMqtt({ ...core, mapping }));
    const housekeeping = parts.add(startHousekeeping(core));
    const legacySinks = parts.add(createLegacySinksFor(config, logger));
    const odoo = createOdooLinkIfConfigured({
      ...core,
      version: VERSION,
      replay,
      mqtt: () => mqtt.ingress.client,
      liveness: core.ownership,
      extraSinks: (site) => legacySinks.sinks(site),
      ...(options.readApiKey && { readApiKey: options.readApiKey }),
    });
    if (odoo) mapping.reportTo(parts.add(odoo).client);
    const legacy = parts.add(
      await startLegacy({
        ...core,
        mapping,
        sinks: legacySinks,
        ...(odoo && { odoo: odoo.client }),
      }),
    );
    const http = parts.add(
      await startHttp({
        ...core,
        version: VERSION,
        replay,
        quarantine: mqtt.quarantine,
        ...(odoo && { odoo }),
        mqtt: mqtt.ingress,
        refreshMetrics: housekeeping.refreshMetrics,
        routes: mapping.httpRoutes,
      }),
    );
    await mqtt.ready();
    odoo?.start();
    http.tokens?.start();
    const simulator = options.simulate
      ? parts.add(await startSimulation(config, mqtt.url, logger))
      : undefined;
    logger.info(
      { http: http.server.url, mqtt: redactUrl(mqtt.url), store: core.store.kind },
      "Plant Bridge sidecar ready",
    );
    const { store, metrics, bus, ingestor } = core;
    return {
      config,
      store,
      metrics,
      bus,
      ingestor,
      http: http.server,
      mqtt: mqtt.ingress,
      mappings: mapping.engine,
      legacy,
      ...(mqtt.broker && { broker: mqtt.broker }),
      ...(odoo && { odoo }),
      ...(simulator && { simulator }),
      stop: async () => {
        logger.info("Plant Bridge sidecar stopping");
        await parts.closeAll();
        logger.info("Plant Bridge sidecar stopped");
      },
    };
  } catch (err) {
    await parts.closeAll();
    throw err;
  }
}

/** The simulated plant (`--simulate`), publishing on the sidecar's broker. */
async function startSimulation(config: Config, mqttUrl: string, logger: Logger) {
  const simulator = await startSimulator({
    mqttUrl,
    site: config.site,
    machines: machineNames(config.sim.machines),
    rate: config.sim.rate,
    logger,
    ...mqttCredentials(config),
  });
  return Object.assign(simulator, { close: () => simulator.stop() });
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:[redacted]@");
}

/** Odoo's MRP demo work centers first, so a simulated plant posts onto demo data. */
function machineNames(count: number): string[] {
  const demo = ["Assembly 1", "Drill 1", "Assembly 2"];
  return Array.from({ length: count }, (_, i) => demo[i] ?? `Machine ${i + 1}`);
}
