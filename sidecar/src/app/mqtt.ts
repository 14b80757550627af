/**
 * The MQTT feature, wired: the embedded broker when no PLANT_BRIDGE_MQTT_URL is set, the intake
 * of the canonical route and the mapping feature's routes (one sequencer, so submissions keep
 * arrival order), its quarantine, the subscriptions that follow the mappings configured in Odoo,
 * and the sampler of extra topics for the Mapping Studio.
 */
import type { MessageParser } from "../contracts/checkers.js";
import type { MqttRoute } from "../contracts/mqtt.js";
import type { SiteConfig } from "../contracts/site-config.js";
import type { Config } from "../config.js";
import { topicMatches } from "../canonical/topics.js";
import { createCanonicalRoute } from "../ingress/mqtt/canonical-route.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../ingress/mqtt/embedded-broker.js";
import { startMqttIngress, type MqttIngress, type MqttTls } from "../ingress/mqtt/mqtt-ingress.js";
import { startTopicSampler } from "../ingress/mqtt/sampler.js";
import { sparkplugState } from "../ingress/sparkplug/host.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Bus } from "../pipeline/bus.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { IngestOwnership } from "../scheduler/ownership.js";
import { inSequence } from "../pipeline/mapping/sequencer.js";
import { createQuarantine, type Quarantine } from "../pipeline/quarantine.js";
import type { MappingFeature } from "./mapping.js";
import type { Closable } from "./shutdown.js";
import { readFileSync } from "node:fs";

export type MqttConfig = Pick<
  Config,
  "mqtt" | "name" | "site" | "sites" | "maxMessageBytes" | "mapping" | "ingestGroup"
>;

/** The configured MQTT credentials, for every client of the configured (or embedded) broker. */
export function mqttCredentials(config: Pick<Config, "mqtt">): {
  username?: string;
  password?: string;
} {
  return {
    ...(config.mqtt.username !== undefined && { username: config.mqtt.username }),
    ...(config.mqtt.password !== undefined && { password: config.mqtt.password }),
  };
}

/** Reads the broker TLS files named in the configuration (checked readable at start). */
function readMqttTls(tls: NonNullable<Config["mqtt"]["tls"]>): MqttTls {
  return {
    ...(tls.ca && { ca: readFileSync(tls.ca) }),
    ...(tls.cert && { cert: readFileSync(tls.cert) }),
    ...(tls.key && { key: readFileSync(tls.key) }),
  };
}

export interface MqttFeature extends Closable {
  /** The broker's URL (the embedded one's when none is configured). */
  url: string;
  broker?: EmbeddedBroker;
  ingress: MqttIngress;
  /** One message's failure is its own dead letter; only a failing store holds input back. */
  quarantine: Quarantine;
  routes: MqttRoute[];
}

export interface MqttOptions {
  config: MqttConfig;
  logger: Logger;
  metrics: Metrics;
  bus: Bus;
  ingestor: Ingestor;
  parse: MessageParser;
  mapping: MappingFeature;
  /** Whether this sidecar owns its ingest (connects) or is a standby (connects on takeover). */
  ownership: IngestOwnership;
  /** Shorter periods for tests. */
  tuning?: { reconnectPeriodMs?: number };
}

export interface MqttConnected {
  /** Waits for the intake's connection, then starts the sampler of extra topics (if any). */
  ready(): Promise<void>;
}

export async function startMqtt(options: MqttOptions): Promise<MqttFeature & MqttConnected> {
  const { config, logger, metrics, ingestor, mapping } = options;
  const closing: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of closing.splice(0).reverse())
      await fn().catch((err: unknown) => logger.warn({ err }, "MQTT shutdown step failed"));
  };
  try {
    let broker: EmbeddedBroker | undefined;
    let url = config.mqtt.url;
    if (!url) {
      broker = await startEmbeddedBroker({
        port: config.mqtt.embeddedPort,
        host: config.mqtt.embeddedHost,
        // the largest message plus room for its topic and properties
        maxPacketBytes: config.maxMessageBytes + 64 * 1024,
        // only the sidecar's own ingress takes its client id and publishes commands
        sidecarClientIds: [`plant-bridge-${config.name}`],
        sites: config.sites,
        logger,
        ...mqttCredentials(config),
      });
      closing.push(() => broker!.close());
      url = broker.url;
    }
    const tls = !broker && config.mqtt.tls ? readMqttTls(config.mqtt.tls) : undefined;
    const routes = [
      inSequence(
        createCanonicalRoute({ sites: config.sites, parse: options.parse, ingestor }),
        mapping.sequencer,
      ),
      ...mapping.routes,
    ];
    const quarantine = createQuarantine({ ingestor, logger });
    // An ingest group shares one persistent session: whoever owns the group's ingest resumes
    // it, with what the previous owner left unacknowledged (README "Scale out").
    const { ownership } = options;
    const grouped = config.ingestGroup !== undefined;
    const ingress = startMqttIngress({
      url,
      clientId: `plant-bridge-${config.ingestGroup ?? config.name}`,
      ...(grouped && {
        suspended: ownership.role() !== "owner",
        fence: () => ownership.owned(),
      }),
      quarantine: { settle: quarantine, site: config.site },
      metrics,
      // aedes speaks MQTT 3.1.1; external brokers get MQTT 5 with a session expiry, or 3.1.1
      // when they refuse it (README "Against a real broker").
      protocolVersion: broker ? 4 : config.mqtt.protocol,
      ...(tls && { tls }),
      routes,
      logger,
      ...(options.tuning?.reconnectPeriodMs !== undefined && {
        reconnectPeriodMs: options.tuning.reconnectPeriodMs,
      }),
      ...(broker ? broker.sidecarCredentials : mqttCredentials(config)),
      ...(config.mapping.sparkplugHostId !== undefined && {
        presence: sparkplugState(config.mapping.sparkplugHostId, Date.now()),
      }),
    });
    mapping.attach(() => ingress.client);
    if (grouped) {
      // Connected exactly while owned: at once on a change of role, and every 500 ms after a
      // message tripped the fence (the intake suspended itself) while the role did not change.
      const follow = () => {
        if (ownership.owned()) {
          if (ingress.isSuspended()) ingress.resume();
        } else if (!ingress.isSuspended()) void ingress.suspend();
      };
      ownership.onChange(follow);
      const timer = setInterval(follow, 500);
      timer.unref();
      closing.push(async () => clearInterval(timer));
    }
    closing.push(async () => {
      await ingress.close();
      await ingestor.flush();
    });
    // Mappings configured in Odoo apply without a restart; subscriptions follow them.
    const onConfig = (siteConfig: SiteConfig) => {
      mapping.applyConfig(siteConfig);
      ingress
        .setRoutes(routes)
        .catch((err: unknown) =>
          logger.error({ err }, "could not subscribe to the mappings' topics"),
        );
    };
    options.bus.on("configChanged", onConfig);
    closing.push(async () => void options.bus.off("configChanged", onConfig));
    // After the intake connected: the sampler speaks the MQTT version it settled on.
    const startSampler = () => {
      if (!config.mapping.sampleTopics.length) return;
      const sampler = startTopicSampler({
        url,
        clientId: `plant-bridge-${config.name}-samples`,
        filters: config.mapping.sampleTopics,
        samples: mapping.samples,
        logger,
        protocolVersion: ingress.protocolVersion(),
        ...(tls && { tls }),
        isRouted: (topic) =>
          routes.some((r) => r.filters.some((f) => topicMatches(f.filter, topic))),
        ...mqttCredentials(config),
      });
      closing.push(() => sampler.close());
    };
    return {
      url,
      ...(broker && { broker }),
      ingress,
      quarantine,
      routes,
      close,
      async ready() {
        // a standby is ready without a broker connection: it connects when it takes over
        if (!grouped || ownership.role() === "owner") await ingress.ready();
        startSampler();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
