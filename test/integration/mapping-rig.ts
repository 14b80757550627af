/**
 * The sidecar's MQTT intake with mappings, on a real broker and a real SQLite store, wired as
 * main.ts wires it: canonical and mapping routes in one sequencer, the JSONata worker pool, the
 * aggregator. Each rig has its own random site and topic prefix.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createEventChecker, createMessageParser } from "../../sidecar/src/canonical/parse.js";
import { createCanonicalRoute } from "../../sidecar/src/ingress/mqtt/canonical-route.js";
import {
  createMqttIngress,
  type MqttIngress,
  type MqttRoute,
} from "../../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { createSparkplugHost, type Birth } from "../../sidecar/src/ingress/sparkplug/host.js";
import {
  createSparkplugRoute,
  type SparkplugBinding,
} from "../../sidecar/src/ingress/sparkplug/sparkplug-route.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import type { MappingConfig } from "../../sidecar/src/odoo/config-sync.js";
import { createAggregator } from "../../sidecar/src/pipeline/aggregation/aggregator.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createQuarantine } from "../../sidecar/src/pipeline/quarantine.js";
import {
  defineMappings,
  type MappingVersionConfig,
} from "../../sidecar/src/pipeline/mapping/definition.js";
import {
  createMappingEngine,
  type MappingEngine,
} from "../../sidecar/src/pipeline/mapping/engine.js";
import { createMappingRoute } from "../../sidecar/src/pipeline/mapping/mapping-route.js";
import { createSampleRing, type SampleRing } from "../../sidecar/src/pipeline/mapping/samples.js";
import {
  createSandboxPool,
  type SandboxPool,
} from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { createSequencer, inSequence } from "../../sidecar/src/pipeline/mapping/sequencer.js";
import { createShadowLog, type ShadowLog } from "../../sidecar/src/pipeline/mapping/shadow.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { dropSession } from "../helpers/brokers.js";
import { randomName } from "../helpers/services.js";

export { waitFor } from "../helpers/wait.js";

export const logger = createLogger({ level: "silent" });

export interface MappingRig {
  site: string;
  /** A random first topic level: this rig's vendor topics live under it. */
  prefix: string;
  store: Store;
  ingestor: Ingestor;
  engine: MappingEngine;
  shadow: ShadowLog;
  samples: SampleRing;
  pool: SandboxPool;
  ingress: MqttIngress;
  routes: MqttRoute[];
  publisher: MqttClient;
  /** Sparkplug B: the group this rig hosts, the births it saw, the bindings it applies. */
  sparkplug: { group: string; births: Birth[]; bindings: SparkplugBinding[] };
  /** Loads mappings as a `get_config` answer would bring them, and resubscribes. */
  configure(
    mappings: Array<Partial<MappingVersionConfig> & Pick<MappingConfig, "selector" | "expression">>,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function mappingRig(
  url: string,
  options: { storePath?: string; now?: () => number } = {},
): Promise<MappingRig> {
  const store = await openStore(
    options.storePath ?? join(mkdtempSync(join(tmpdir(), "pb-map-")), "store.db"),
  );
  const site = randomName("site");
  const prefix = randomName("acme");
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  const pool = createSandboxPool({ logger, workers: 2, hardTimeoutMs: 500 });
  const sequencer = createSequencer();
  const shadow = createShadowLog();
  const samples = createSampleRing({ minIntervalMs: 0 });
  const check = createEventChecker();
  const engine = createMappingEngine({
    ingestor,
    pool,
    aggregator: createAggregator({ store }),
    check,
    sequencer,
    shadow,
    samples,
    logger,
    tickMs: 100,
    ...(options.now && { now: options.now }),
  });
  await engine.start();
  const sparkplug = {
    group: randomName("group"),
    births: [] as Birth[],
    bindings: [] as SparkplugBinding[],
  };
  const late: { ingress?: MqttIngress } = {};
  const routes = [
    inSequence(
      createCanonicalRoute({ sites: [site], parse: createMessageParser(), ingestor }),
      sequencer,
    ),
    createSparkplugRoute({
      host: createSparkplugHost({ rebirthIntervalMs: 200 }),
      engine,
      ingestor,
      sequencer,
      logger,
      site,
      groups: [sparkplug.group],
      publish: (topic, payload) =>
        late.ingress?.client.publish(topic, Buffer.from(payload), { qos: 0 }),
      bindings: () => sparkplug.bindings,
      onBirth: (birth) => sparkplug.births.push(birth),
    }),
    createMappingRoute({ engine }),
  ];
  const ingressId = randomName("pb-ingress");
  const ingress = createMqttIngress({
    url,
    clientId: ingressId,
    protocolVersion: "auto",
    routes,
    logger,
    reconnectPeriodMs: 200,
    quarantine: { settle: createQuarantine({ ingestor, logger }), site },
  });
  late.ingress = ingress;
  await ingress.ready();
  const publisher = await mqtt.connectAsync(url, {
    clientId: randomName("pb-pub"),
    protocolVersion: ingress.protocolVersion(),
  });
  return {
    site,
    prefix,
    store,
    ingestor,
    engine,
    shadow,
    samples,
    pool,
    ingress,
    routes,
    publisher,
    sparkplug,
    async configure(list) {
      const configs: MappingVersionConfig[] = list.map((m, i) => ({
        id: i + 1,
        name: `mapping ${i + 1}`,
        connector_id: null,
        event_type: "machine_status",
        key_expression: null,
        version: 1,
        state: "active",
        aggregation: null,
        ...m,
      }));
      const { definitions, problems } = defineMappings(configs, {
        site,
        origin: "odoo",
        timezone: "UTC",
      });
      engine.setMappings(`odoo:${site}`, definitions, problems);
      await ingress.setRoutes(routes);
    },
    async close() {
      await publisher.endAsync();
      await ingress.close();
      await dropSession(url, ingressId, ingress.protocolVersion());
      await engine.close();
      await ingestor.flush();
      await pool.close();
      await store.close();
    },
  };
}
