/**
 * The sidecar's HTTP server on loopback (port 0) with the GraphQL API, a bearer token and the
 * signed webhook routes, on a real ingestor and SQLite store: what webhook and GraphQL fuzzing
 * send their requests to.
 */
import { createGraphqlApi } from "../../../sidecar/src/api/graphql.js";
import { createStaticAuthenticator } from "../../../sidecar/src/api/auth.js";
import { startHttpServer, type HttpServer } from "../../../sidecar/src/api/http-server.js";
import { createEventChecker, createMessageParser } from "../../../sidecar/src/canonical/parse.js";
import { createWebhookRoutes } from "../../../sidecar/src/ingress/webhook/webhook-route.js";
import { createReplayer } from "../../../sidecar/src/pipeline/replay.js";
import { randomName } from "../../helpers/services.js";
import { logger, openFuzzStore, type FuzzStore } from "../harness.js";

export const TOKEN = "fuzz-admin-token-0123456789abcdef";
export const SECRET = "whsec-fuzz-0123456789abcdef0123456789abcdef";

export interface HttpRig {
  fz: FuzzStore;
  site: string;
  http: HttpServer;
  close(): Promise<void>;
}

export async function openHttpRig(): Promise<HttpRig> {
  const fz = await openFuzzStore();
  const site = randomName("fz");
  const api = createGraphqlApi({
    store: fz.store,
    ingestor: fz.ingestor,
    bus: fz.bus,
    metrics: fz.metrics,
    check: createEventChecker(),
    replay: createReplayer({
      store: fz.store,
      parse: createMessageParser(),
      ingestor: fz.ingestor,
    }),
    defaultSite: site,
    health: () => ({
      name: "fuzz",
      version: "0.0.0",
      mqttConnected: true,
      odooConfigured: false,
      odooUp: false,
    }),
  });
  const http = await startHttpServer({
    port: 0,
    api,
    auth: createStaticAuthenticator({ adminToken: TOKEN }),
    metrics: fz.metrics,
    logger,
    health: () => ({}),
    ready: () => ({ ready: true, reasons: [] }),
    extraRoutes: createWebhookRoutes({
      secret: SECRET,
      sites: [site],
      parse: createMessageParser(),
      ingestor: fz.ingestor,
      logger,
    }),
  });
  return {
    fz,
    site,
    http,
    async close() {
      await http.close();
      api.dispose();
      await fz.close();
    },
  };
}

/** Throws unless an answer's results are acceptances or rejections with a contract code. */
export function checkResults(
  results: unknown,
  isCode: (code: unknown) => boolean,
  where: string,
): void {
  if (!Array.isArray(results)) throw new Error(`${where}: no results array`);
  for (const r of results as Array<{ status?: unknown; code?: unknown }>) {
    const ok =
      r.status === "accepted" ||
      (r.status === "duplicate" && r.code === "duplicate") ||
      (r.status === "rejected" && isCode(r.code));
    if (!ok) throw new Error(`${where}: result outside the contract: ${JSON.stringify(r)}`);
  }
}
