/**
 * The HTTP feature, wired: bearer authentication (the static admin token, and the API tokens
 * managed in Odoo), the GraphQL API and its WebSocket, the Mapping Studio's REST routes, the
 * signed webhooks, /metrics, /health and /ready.
 */
import type { EventChecker, MessageParser } from "../contracts/checkers.js";
import type { HttpRoute } from "../contracts/http.js";
import type { ParseLimits } from "../canonical/parse.js";
import type { Config } from "../config.js";
import { chainAuthenticators, createStaticAuthenticator } from "../api/auth.js";
import { createGraphqlApi } from "../api/graphql.js";
import { startHttpServer, type HttpServer } from "../api/http-server.js";
import { createOdooReader } from "../api/odoo-reader.js";
import { createOdooTokens, type OdooTokens } from "../api/odoo-tokens.js";
import { createGraphqlWebSocket } from "../api/ws.js";
import type { MqttIngress } from "../ingress/mqtt/mqtt-ingress.js";
import { createWebhookRoutes } from "../ingress/webhook/webhook-route.js";
import type { IngestOwnership } from "../scheduler/ownership.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Bus } from "../pipeline/bus.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { Quarantine } from "../pipeline/quarantine.js";
import type { Replayer } from "../pipeline/replay.js";
import type { Store } from "../store/types.js";
import type { OdooLink } from "./odoo-link.js";
import type { Closable } from "./shutdown.js";

export interface HttpFeature extends Closable {
  server: HttpServer;
  /** API tokens managed in Odoo (started with the Odoo link). */
  tokens?: OdooTokens;
}

export interface HttpOptions {
  config: Pick<Config, "name" | "site" | "sites" | "http" | "adminToken" | "webhook" | "sync"> & {
    odoo?: unknown;
  };
  version: string;
  store: Store;
  ingestor: Ingestor;
  parse: MessageParser;
  check: EventChecker;
  limits: ParseLimits;
  replay: Replayer;
  bus: Bus;
  metrics: Metrics;
  logger: Logger;
  quarantine: Quarantine;
  odoo?: OdooLink;
  /** Owner or standby of the ingest group (readiness). */
  ownership: Pick<IngestOwnership, "group" | "role">;
  /** The MQTT intake (health, readiness). */
  mqtt: Pick<MqttIngress, "isConnected" | "lastError">;
  refreshMetrics: () => Promise<void>;
  /** Routes of other features (the Mapping Studio's). */
  routes: HttpRoute[];
}

export async function startHttp(options: HttpOptions): Promise<HttpFeature> {
  const { config, odoo, ingestor, logger, metrics } = options;
  const health = () => ({
    name: config.name,
    version: options.version,
    mqttConnected: options.mqtt.isConnected(),
    ingest: options.ownership.role(),
    odooConfigured: config.odoo !== undefined,
    odooUp: odoo?.odooUp() ?? false,
    posting: odoo ? { ...odoo.worker.status(), drainLatencies: undefined } : null,
  });
  // API tokens managed in Odoo, pulled with the configuration's interval (revocation delay).
  const tokens = odoo
    ? createOdooTokens({
        client: odoo.client,
        logger,
        intervalMs: config.sync.configPollMs,
        maxAgeMs: config.sync.tokenListMaxAgeMs,
      })
    : undefined;
  const auth = chainAuthenticators(
    createStaticAuthenticator(
      config.adminToken === undefined ? {} : { adminToken: config.adminToken },
    ),
    ...(tokens ? [tokens] : []),
  );
  const api = createGraphqlApi({
    store: options.store,
    ingestor,
    check: options.check,
    replay: options.replay,
    bus: options.bus,
    defaultSite: config.site,
    health,
    metrics,
    reader: createOdooReader({ client: odoo?.client }),
    graphiql: config.http.graphiql,
    corsOrigins: config.http.corsOrigins,
  });
  let server: HttpServer;
  try {
    server = await startHttpServer({
      port: config.http.port,
      host: config.http.host,
      api,
      auth,
      websocket: createGraphqlWebSocket({ api, auth, logger }),
      metrics,
      logger,
      refreshMetrics: options.refreshMetrics,
      health,
      graphiql: config.http.graphiql,
      extraRoutes: [
        ...options.routes,
        ...createWebhookRoutes({
          sites: config.sites,
          parse: options.parse,
          ingestor,
          logger,
          limits: options.limits,
          secret: config.webhook.secret,
          ...(config.webhook.secrets && { secrets: config.webhook.secrets }),
          quarantine: options.quarantine,
          toleranceSeconds: config.webhook.toleranceSeconds,
        }),
      ],
      ready: () => {
        const reasons: string[] = [];
        // A standby is ready: it takes input (webhooks, API) and is not connected on purpose.
        const ingest = options.ownership.role();
        const standby = options.ownership.group !== undefined && ingest === "standby";
        if (!standby && !options.mqtt.isConnected()) {
          const why = options.mqtt.lastError();
          reasons.push(why ? `MQTT not connected: ${why}` : "MQTT not connected");
        }
        const storeHealth = ingestor.health();
        if (!storeHealth.ok)
          reasons.push(
            `store failing since ${new Date(storeHealth.since!).toISOString()} (${storeHealth.failures} commits): input is held back`,
          );
        if (odoo && !odoo.configLoaded()) reasons.push("configuration not loaded from Odoo yet");
        return { ready: reasons.length === 0, reasons, ingest };
      },
    });
  } catch (err) {
    await tokens?.stop();
    await api.dispose();
    throw err;
  }
  return {
    server,
    ...(tokens && { tokens }),
    // Stop serving first, then the API and the token pulls.
    async close() {
      await server.close();
      await api.dispose();
      await tokens?.stop();
    },
  };
}
