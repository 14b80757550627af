import type { MessageParser } from "../contracts/checkers.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import type { MqttClient } from "mqtt";
import type { Config } from "../config.js";
import { createMqttCommandSink } from "../egress/mqtt-command-sink.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Bus } from "../pipeline/bus.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { Replayer } from "../pipeline/replay.js";
import type { Store } from "../store/types.js";
import { createOdooClient } from "../odoo/client.js";
import { createConfigSync, type ConfigSync } from "../odoo/config-sync.js";
import { createConnectorTester } from "../odoo/connector-test.js";
import { createHeartbeat, type Heartbeat } from "../odoo/heartbeat.js";
import { createOutboundPoller, type OutboundPoller } from "../odoo/outbound-poller.js";
import type { IngestOwnership } from "../scheduler/ownership.js";
import { HELD, createPostingWorker, type PostingWorker } from "../odoo/posting-worker.js";

export interface OdooLinkOptions {
  config: Config & { odoo: NonNullable<Config["odoo"]> };
  version: string;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  bus: Bus;
  parse: MessageParser;
  ingestor: Ingestor;
  /** Replays queued in Odoo's exception queue go through it (mapped messages are mapped again). */
  replay?: Replayer;
  /** The sidecar's MQTT connection (releases are published on the command topic). */
  mqtt: () => MqttClient;
  /** Lease holders' liveness (PostgreSQL advisory locks; always alive on SQLite). */
  liveness: Pick<IngestOwnership, "holdLiveness" | "deadHolders" | "owned">;
  /** Extra sinks for releases (legacy file / SQL / HTTP sinks). @default none */
  extraSinks?: (site: string) => OutboundSink[];
  /**
   * Reads the Odoo API key configured now (the configuration file again): asked on SIGHUP and
   * when Odoo refuses the current key, before posting pauses. Throws when the configuration
   * cannot be read. @default none: the key given at start only
   */
  readApiKey?: () => string | undefined;
}

export interface OdooLink {
  client: OdooClient;
  worker: PostingWorker;
  configSyncs: Map<string, ConfigSync>;
  outbound: Map<string, OutboundPoller>;
  heartbeats: Map<string, Heartbeat>;
  /** Every site's configuration has been loaded once. */
  configLoaded(): boolean;
  odooUp(): boolean;
  /**
   * Reads the API key again (`readApiKey`) and, when it changed, switches to it: the next
   * request uses it and the cached configuration is sealed again under it. Resolves true when
   * the key changed. Never throws (an unreadable configuration keeps the current key).
   */
  reloadApiKey(reason: string): Promise<boolean>;
  start(): void;
  close(): Promise<void>;
}

/** Everything that talks to Odoo, per site: posting, config sync, releases, heartbeats. */
export function createOdooLink(options: OdooLinkOptions): OdooLink {
  const { config, store, metrics, logger, bus } = options;
  let reloading: Promise<boolean> | undefined;
  const client = createOdooClient({
    url: config.odoo.url,
    db: config.odoo.db,
    apiKey: config.odoo.apiKey,
    timeoutMs: config.odoo.timeoutMs,
    ...(config.odoo.login && { login: config.odoo.login }),
    onUnauthorized: () => reloadApiKey("Odoo refused the API key"),
  });
  const worker = createPostingWorker({
    store,
    client,
    metrics,
    logger,
    bus,
    sidecar: config.name,
    ...(config.odoo.environment && { environment: config.odoo.environment }),
    sites: config.sites,
    batchSize: config.sync.batchSize,
    lingerMs: config.sync.lingerMs,
    concurrency: config.sync.concurrency,
    liveness: options.liveness,
    windowsOf: (site) => {
      const c = configSyncs.get(site)?.current();
      return c?.posting_windows?.length
        ? { timezone: c.site_info?.timezone || "UTC", windows: c.posting_windows }
        : undefined;
    },
  });
  const odooUp = () => {
    const s = worker.status();
    return s.lastSuccessAt !== null && s.circuit !== "open" && s.paused === null;
  };
  const configSyncs = new Map<string, ConfigSync>();
  const outbound = new Map<string, OutboundPoller>();
  const heartbeats = new Map<string, Heartbeat>();
  for (const site of config.sites) {
    const sync = createConfigSync({
      client,
      site,
      logger,
      store,
      cacheSecret: config.odoo.apiKey,
      ...(config.odoo.environment && { environment: config.odoo.environment }),
      intervalMs: config.sync.configPollMs,
      onChange: (c) => {
        bus.emit("configChanged", c);
        // A window changed or removed lets its waiting events go now; the worker checks them
        // against the new windows at their next lease.
        void store
          .expedite({ codes: [HELD], sites: [site] })
          .catch((err: unknown) => logger.warn({ err }, "could not re-check the held events"));
      },
    });
    configSyncs.set(site, sync);
    outbound.set(
      site,
      createOutboundPoller({
        client,
        site,
        logger,
        bus,
        intervalMs: config.sync.outboundPollMs,
        active: () => options.liveness.owned(),
        ...(config.odoo.environment && { environment: config.odoo.environment }),
        sinks: () => [
          createMqttCommandSink(options.mqtt, site),
          ...(options.extraSinks?.(site) ?? []),
        ],
      }),
    );
    heartbeats.set(
      site,
      createHeartbeat({
        client,
        store,
        metrics,
        logger,
        site,
        name: config.name,
        version: options.version,
        configRevision: () => sync.current()?.revision ?? 0,
        // One worker serves every site: the first site's heartbeat reports its latencies.
        drainLatencies:
          site === config.sites[0] ? () => worker.status().drainLatencies() : () => [],
        odooUp,
        parse: options.parse,
        ingestor: options.ingestor,
        ...(options.replay && { replay: options.replay }),
        connectorTests: createConnectorTester({
          config: () => sync.current(),
          refresh: () => sync.poll(),
          roots: config.legacy.roots,
          outbound: { allowLoopback: config.legacy.allowLoopback },
          ownMqtt: options.mqtt,
        }),
        intervalMs: config.sync.heartbeatMs,
      }),
    );
  }
  /** One reload at a time: concurrent calls refused together share it. */
  function reloadApiKey(reason: string): Promise<boolean> {
    reloading ??= (async () => {
      if (!options.readApiKey) return false;
      let next: string | undefined;
      try {
        next = options.readApiKey();
      } catch (err) {
        // the message names the variable or file, never a value (config.ts)
        logger.error(
          { reason, err: { message: (err as Error).message } },
          "could not read the Odoo API key again: keeping the current one",
        );
        return false;
      }
      if (next === undefined || !client.setApiKey?.(next)) {
        logger.info({ reason }, "Odoo API key read again: unchanged");
        return false;
      }
      for (const sync of configSyncs.values())
        await sync
          .rekey(next)
          .catch((err: unknown) =>
            logger.warn(
              { err: { message: (err as Error).message } },
              "could not seal the cached configuration under the new key",
            ),
          );
      logger.warn({ reason }, "Odoo API key changed: the next requests use the new key");
      return true;
    })().finally(() => (reloading = undefined));
    return reloading;
  }

  const parts = [...configSyncs.values(), ...outbound.values(), ...heartbeats.values()];
  return {
    client,
    worker,
    configSyncs,
    outbound,
    heartbeats,
    configLoaded: () => [...configSyncs.values()].every((s) => s.current() !== undefined),
    odooUp,
    reloadApiKey,
    start() {
      worker.start();
      for (const p of parts) p.start();
    },
    async close() {
      for (const p of parts) await p.stop();
      await worker.stop();
      await client.close();
    },
  };
}

/** The Odoo link when Odoo is configured (PLANT_BRIDGE_ODOO_URL), else undefined. */
export function createOdooLinkIfConfigured(
  options: Omit<OdooLinkOptions, "config"> & { config: Config },
): OdooLink | undefined {
  const { odoo } = options.config;
  return odoo ? createOdooLink({ ...options, config: { ...options.config, odoo } }) : undefined;
}
