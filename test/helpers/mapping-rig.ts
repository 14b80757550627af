/**
 * The sidecar's MQTT intake with mappings, on a real broker and a real SQLite store, built from
 * the same feature modules main.ts starts (app/mapping.ts, app/mqtt.ts). Each rig has its own
 * random site and topic prefix.
 */
import { createLocalOwnership } from "../../sidecar/src/scheduler/ownership.js";
import type { Birth } from "../../sidecar/src/contracts/sparkplug.js";
import type { MqttRoute } from "../../sidecar/src/contracts/mqtt.js";
import type { MappingConfig, SparkplugBinding } from "../../sidecar/src/contracts/site-config.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { startMapping } from "../../sidecar/src/app/mapping.js";
import { startMqtt } from "../../sidecar/src/app/mqtt.js";
import {
  createEventChecker,
  createMessageParser,
  DEFAULT_LIMITS,
} from "../../sidecar/src/canonical/parse.js";
import type { MqttIngress } from "../../sidecar/src/ingress/mqtt/mqtt-ingress.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { DEFAULT_EVALUATION_LIMITS } from "../../sidecar/src/mapping-core/contract.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import type { MappingEngine } from "../../sidecar/src/pipeline/mapping/engine.js";
import type { SampleRing } from "../../sidecar/src/pipeline/mapping/samples.js";
import type { SandboxPool } from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import type { ShadowLog } from "../../sidecar/src/pipeline/mapping/shadow.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { dropSession } from "./brokers.js";
import { randomName } from "./services.js";

export { waitFor } from "./wait.js";

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
    mappings: Array<Partial<MappingConfig> & Pick<MappingConfig, "selector" | "expression">>,
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
  const sparkplug = {
    group: randomName("group"),
    births: [] as Birth[],
    bindings: [] as SparkplugBinding[],
  };
  const config = {
    name: randomName("rig"),
    site,
    sites: [site],
    maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes,
    mqtt: { url, protocol: "auto" as const, embeddedPort: 0, embeddedHost: "127.0.0.1" },
    mapping: {
      workers: 2,
      timeoutMs: DEFAULT_EVALUATION_LIMITS.timeoutMs,
      sampleTopics: [],
      sparkplugGroups: [sparkplug.group],
    },
  };
  const metrics = createMetrics({ defaultMetrics: false });
  const bus = new Bus();
  const ingestor = createIngestor({ store, metrics, logger, bus });
  // The same feature modules main.ts starts, with shorter periods.
  const mapping = await startMapping({
    config,
    store,
    ingestor,
    check: createEventChecker(),
    logger,
    metrics,
    onBirth: (birth) => sparkplug.births.push(birth),
    tuning: {
      tickMs: 100,
      rebirthIntervalMs: 200,
      sampleIntervalMs: 0,
      hardTimeoutMs: 500,
      ...(options.now && { now: options.now }),
    },
  });
  const mqttFeature = await startMqtt({
    config,
    logger,
    metrics,
    bus,
    ingestor,
    parse: createMessageParser(),
    mapping,
    ownership: createLocalOwnership(),
    tuning: { reconnectPeriodMs: 200 },
  });
  const ingress = mqttFeature.ingress;
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
    engine: mapping.engine,
    shadow: mapping.shadow,
    samples: mapping.samples,
    pool: mapping.pool,
    ingress,
    routes: mqttFeature.routes,
    publisher,
    sparkplug,
    async configure(list) {
      const configs: MappingConfig[] = list.map((m, i) => ({
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
      // As a `get_config` answer brings them.
      mapping.applyConfig({
        site,
        revision: 1,
        site_info: { code: site, name: site, timezone: "UTC", warehouse: false },
        connectors: [],
        mappings: configs,
        schedules: [],
        sor: {},
        bindings: sparkplug.bindings,
      });
      await ingress.setRoutes(mqttFeature.routes);
    },
    async close() {
      await publisher.endAsync();
      await mqttFeature.close();
      await dropSession(url, `plant-bridge-${config.name}`, ingress.protocolVersion());
      await mapping.close();
      await store.close();
    },
  };
}
