import { readFileSync } from "node:fs";
import { chainAuthenticators, createStaticAuthenticator } from "./api/auth.js";
import { createGraphqlApi } from "./api/graphql.js";
import { startHttpServer, type HttpServer } from "./api/http-server.js";
import { createOdooReader } from "./api/odoo-reader.js";
import { createOdooTokens, type OdooTokens } from "./api/odoo-tokens.js";
import { createGraphqlWebSocket } from "./api/ws.js";
import { createEventChecker, createMessageParser, DEFAULT_LIMITS } from "./canonical/parse.js";
import { describeConfig, type Config } from "./config.js";
import {
  createLegacyService,
  createLegacySinksFor,
  type LegacyService,
} from "./ingress/legacy/legacy-service.js";
import { createCanonicalRoute } from "./ingress/mqtt/canonical-route.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "./ingress/mqtt/embedded-broker.js";
import { createMqttIngress, type MqttIngress, type MqttTls } from "./ingress/mqtt/mqtt-ingress.js";
import { topicMatches } from "./ingress/mqtt/topic.js";
import { sparkplugState } from "./ingress/sparkplug/host.js";
import { createWebhookRoutes } from "./ingress/webhook/webhook-route.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createOdooLink, type OdooLink } from "./odoo/odoo-link.js";
import { projectPath } from "./paths.js";
import { Bus } from "./pipeline/bus.js";
import { createIngestor, type Ingestor } from "./pipeline/ingestor.js";
import type { MappingEngine } from "./pipeline/mapping/engine.js";
import { startMappingService } from "./pipeline/mapping/mapping-service.js";
import { startTopicSampler } from "./pipeline/mapping/sampler.js";
import { inSequence } from "./pipeline/mapping/sequencer.js";
import { createQuarantine } from "./pipeline/quarantine.js";
import { createReplayer } from "./pipeline/replay.js";
import { startSimulator, type Simulator } from "./sim/simulator.js";
import { openStore } from "./store/index.js";
import type { Store } from "./store/types.js";

export const VERSION: string = (
  JSON.parse(readFileSync(projectPath("package.json"), "utf8")) as { version: string }
).version;

export interface SidecarOptions {
  config: Config;
  logger?: Logger;
  /** Start the plant simulator. @default false */
  simulate?: boolean;
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

/** The composition root: builds every part from the configuration and wires them together. */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  logger.info(
    { version: VERSION, config: describeConfig(config) },
    "Plant Bridge sidecar starting",
  );

  const metrics = createMetrics();
  const bus = new Bus();
  const store = await openStore(config.store);
  const ingestor = createIngestor({ store, metrics, logger, bus });
  const limits = { ...DEFAULT_LIMITS, maxMessageBytes: config.maxMessageBytes };
  const parse = createMessageParser(limits);
  const check = createEventChecker();
  metrics.odooUp.set(0);

  const cleanups: Array<() => Promise<void>> = [() => store.close()];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: unknown) => logger.warn({ err }, "shutdown step failed"));
    }
  };

  try {
    let broker: EmbeddedBroker | undefined;
    let mqttUrl = config.mqtt.url;
    if (!mqttUrl) {
      broker = await startEmbeddedBroker({
        port: config.mqtt.embeddedPort,
        host: config.mqtt.embeddedHost,
        // the largest message plus room for its topic and properties
        maxPacketBytes: config.maxMessageBytes + 64 * 1024,
        // only the sidecar's own ingress takes its client id and publishes commands
        sidecarClientIds: [`plant-bridge-${config.name}`],
        sites: config.sites,
        logger,
        ...(config.mqtt.username !== undefined && { username: config.mqtt.username }),
        ...(config.mqtt.password !== undefined && { password: config.mqtt.password }),
      });
      cleanups.push(() => broker!.close());
      mqttUrl = broker.url;
    }

    // Low-code mappings and Sparkplug B: evaluated in a worker pool, submitted in arrival order
    // with the canonical route (one sequencer), aggregated with their state in the same commits.
    const mapping = await startMappingService({ config, store, ingestor, check, logger, metrics });
    cleanups.push(() => mapping.close());
    const replay = createReplayer({ store, parse, ingestor, remap: mapping.remap });
    const routes = [
      inSequence(createCanonicalRoute({ sites: config.sites, parse, ingestor }), mapping.sequencer),
      ...mapping.routes,
    ];
    // One message's failure is its own dead letter; only a failing store holds input back.
    const quarantine = createQuarantine({ ingestor, logger });
    const mqttIngress = createMqttIngress({
      url: mqttUrl,
      clientId: `plant-bridge-${config.name}`,
      quarantine: { settle: quarantine, site: config.site },
      metrics,
      // aedes speaks MQTT 3.1.1; external brokers get MQTT 5 with a session expiry, or 3.1.1
      // when they refuse it (README "Against a real broker").
      protocolVersion: broker ? 4 : config.mqtt.protocol,
      ...(!broker && config.mqtt.tls && { tls: readMqttTls(config.mqtt.tls) }),
      routes,
      logger,
      ...(broker
        ? broker.sidecarCredentials
        : {
            ...(config.mqtt.username !== undefined && { username: config.mqtt.username }),
            ...(config.mqtt.password !== undefined && { password: config.mqtt.password }),
          }),
      ...(config.mapping.sparkplugHostId !== undefined && {
        presence: sparkplugState(config.mapping.sparkplugHostId, Date.now()),
      }),
    });
    mapping.attach(() => mqttIngress.client);
    cleanups.push(async () => {
      await mqttIngress.close();
      await ingestor.flush();
    });
    // Mappings configured in Odoo apply without a restart; subscriptions follow them.
    bus.on("configChanged", (siteConfig) => {
      mapping.applyConfig(siteConfig);
      mqttIngress
        .setRoutes(routes)
        .catch((err: unknown) =>
          logger.error({ err }, "could not subscribe to the mappings' topics"),
        );
    });

    const refreshMetrics = async () => {
      const stats = await store.stats();
      const now = Date.now();
      for (const s of stats.sites) {
        metrics.outboxPending.set({ site: s.site }, s.pending);
        metrics.deadLetters.set({ site: s.site }, s.deadLetters);
        metrics.oldestPendingSeconds.set(
          { site: s.site },
          s.oldestPendingAt === null ? 0 : (now - s.oldestPendingAt) / 1000,
        );
      }
    };
    const gaugeTimer = setInterval(() => void refreshMetrics().catch(() => undefined), 5000);
    gaugeTimer.unref();
    cleanups.push(async () => clearInterval(gaugeTimer));

    const retentionTimer = setInterval(() => {
      const cutoff = Date.now() - config.retentionDays * 86_400_000;
      store
        .purge({ settledBefore: cutoff, closedDeadLettersBefore: cutoff })
        .then((r) => (r.events || r.deadLetters) && logger.info(r, "retention purge"))
        .catch((err: unknown) => logger.warn({ err }, "retention purge failed"));
    }, 3_600_000);
    retentionTimer.unref();
    cleanups.push(async () => clearInterval(retentionTimer));

    // A flood of distinct bad input cannot fill the disk: open dead letters have a budget per
    // site and code; what it evicts is counted in the store and in the metrics.
    const trimTimer = setInterval(() => {
      store
        .trimDeadLetters(config.deadLetterBudget)
        .then((evicted) => {
          for (const e of evicted) {
            metrics.deadLettersEvicted.inc({ site: e.site, code: e.code }, e.evicted);
            logger.warn(e, "dead letter budget reached: the oldest were evicted");
          }
        })
        .catch((err: unknown) => logger.warn({ err }, "dead letter trim failed"));
    }, 60_000);
    trimTimer.unref();
    cleanups.push(async () => clearInterval(trimTimer));

    // Legacy sinks of releases (file, SQL, HTTP), built from the sites' sink_* connectors.
    const legacySinks = createLegacySinksFor(config, logger);
    cleanups.push(() => legacySinks.close());

    let odoo: OdooLink | undefined;
    if (config.odoo) {
      odoo = createOdooLink({
        config: { ...config, odoo: config.odoo },
        version: VERSION,
        store,
        metrics,
        logger,
        bus,
        parse,
        ingestor,
        replay,
        mqtt: () => mqttIngress.client,
        extraSinks: (site) => legacySinks.sinks(site),
      });
      // Stopped before the MQTT intake closes (reverse order below).
      cleanups.push(() => odoo!.stop());
      mapping.reportTo(odoo.client);
    }

    // Scheduled legacy pulls: follow the sites' configuration from Odoo and PLANT_BRIDGE_LEGACY;
    // stopped (reverse order) before Odoo and the MQTT intake, finishing the chunk in progress.
    const legacy = createLegacyService({
      config,
      store,
      ingestor,
      check,
      pool: mapping.pool,
      // Mapped rows are samples and run their mapping's shadow versions, like messages.
      samples: mapping.samples,
      shadow: mapping.shadow,
      logger,
      bus,
      sinks: legacySinks,
      ...(odoo && { odoo: odoo.client }),
    });
    cleanups.push(() => legacy.stop());
    await legacy.start();

    const health = () => ({
      name: config.name,
      version: VERSION,
      mqttConnected: mqttIngress.isConnected(),
      odooConfigured: config.odoo !== undefined,
      odooUp: odoo?.odooUp() ?? false,
      posting: odoo ? { ...odoo.worker.status(), drainLatencies: undefined } : null,
    });
    // API tokens managed in Odoo, pulled with the configuration's interval (revocation delay).
    let tokens: OdooTokens | undefined;
    if (odoo) {
      tokens = createOdooTokens({
        client: odoo.client,
        logger,
        intervalMs: config.sync.configPollMs,
        maxAgeMs: config.sync.tokenListMaxAgeMs,
      });
      cleanups.push(() => tokens!.stop());
    }
    const auth = chainAuthenticators(
      createStaticAuthenticator(
        config.adminToken === undefined ? {} : { adminToken: config.adminToken },
      ),
      ...(tokens ? [tokens] : []),
    );
    const api = createGraphqlApi({
      store,
      ingestor,
      check,
      replay,
      bus,
      defaultSite: config.site,
      health,
      metrics,
      reader: createOdooReader({ client: odoo?.client }),
      graphiql: config.http.graphiql,
      corsOrigins: config.http.corsOrigins,
    });
    cleanups.push(async () => api.dispose());
    const http = await startHttpServer({
      port: config.http.port,
      host: config.http.host,
      api,
      auth,
      websocket: createGraphqlWebSocket({ api, auth, logger }),
      metrics,
      logger,
      refreshMetrics,
      health,
      graphiql: config.http.graphiql,
      extraRoutes: [
        ...mapping.httpRoutes,
        ...createWebhookRoutes({
          sites: config.sites,
          parse,
          ingestor,
          logger,
          limits,
          secret: config.webhook.secret,
          ...(config.webhook.secrets && { secrets: config.webhook.secrets }),
          quarantine,
          toleranceSeconds: config.webhook.toleranceSeconds,
        }),
      ],
      ready: () => {
        const reasons: string[] = [];
        if (!mqttIngress.isConnected()) {
          const why = mqttIngress.lastError();
          reasons.push(why ? `MQTT not connected: ${why}` : "MQTT not connected");
        }
        const storeHealth = ingestor.health();
        if (!storeHealth.ok)
          reasons.push(
            `store failing since ${new Date(storeHealth.since!).toISOString()} (${storeHealth.failures} commits): input is held back`,
          );
        if (odoo && !odoo.configLoaded()) reasons.push("configuration not loaded from Odoo yet");
        return { ready: reasons.length === 0, reasons };
      },
    });
    // Stop serving first on shutdown (reverse order): HTTP, then MQTT intake, then the store.
    cleanups.push(() => http.close());

    await mqttIngress.ready();
    // After the ingress connected: the sampler speaks the MQTT version it settled on.
    if (config.mapping.sampleTopics.length) {
      const sampler = startTopicSampler({
        url: mqttUrl,
        clientId: `plant-bridge-${config.name}-samples`,
        filters: config.mapping.sampleTopics,
        samples: mapping.samples,
        logger,
        protocolVersion: mqttIngress.protocolVersion(),
        ...(!broker && config.mqtt.tls && { tls: readMqttTls(config.mqtt.tls) }),
        isRouted: (topic) =>
          routes.some((r) => r.filters.some((f) => topicMatches(f.filter, topic))),
        ...(config.mqtt.username !== undefined && { username: config.mqtt.username }),
        ...(config.mqtt.password !== undefined && { password: config.mqtt.password }),
      });
      cleanups.push(() => sampler.close());
    }
    odoo?.start();
    tokens?.start();

    let simulator: Simulator | undefined;
    if (options.simulate) {
      simulator = await startSimulator({
        mqttUrl,
        site: config.site,
        machines: machineNames(config.sim.machines),
        rate: config.sim.rate,
        logger,
        ...(config.mqtt.username !== undefined && { username: config.mqtt.username }),
        ...(config.mqtt.password !== undefined && { password: config.mqtt.password }),
      });
      cleanups.push(() => simulator!.stop());
    }

    logger.info(
      {
        http: http.url,
        mqtt: mqttUrl.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:[redacted]@"),
        store: store.kind,
      },
      "Plant Bridge sidecar ready",
    );
    return {
      config,
      store,
      metrics,
      bus,
      ingestor,
      http,
      mqtt: mqttIngress,
      mappings: mapping.engine,
      legacy,
      ...(broker && { broker }),
      ...(odoo && { odoo }),
      ...(simulator && { simulator }),
      stop: async () => {
        logger.info("Plant Bridge sidecar stopping");
        await stopAll();
        logger.info("Plant Bridge sidecar stopped");
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Odoo's MRP demo work centers first, so a simulated plant posts onto demo data. */
function machineNames(count: number): string[] {
  const demo = ["Assembly 1", "Drill 1", "Assembly 2"];
  return Array.from({ length: count }, (_, i) => demo[i] ?? `Machine ${i + 1}`);
}

/** Reads the broker TLS files named in the configuration (checked readable at start). */
function readMqttTls(tls: NonNullable<Config["mqtt"]["tls"]>): MqttTls {
  return {
    ...(tls.ca && { ca: readFileSync(tls.ca) }),
    ...(tls.cert && { cert: readFileSync(tls.cert) }),
    ...(tls.key && { key: readFileSync(tls.key) }),
  };
}
