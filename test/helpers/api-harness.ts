/**
 * The GraphQL API in-process on a real SQLite store (no HTTP): tests call it through
 * `yoga.fetch`, the way graphql-yoga's own tests do, with the principal the HTTP server would
 * have authenticated.
 */
import type { Principal } from "../../sidecar/src/contracts/http.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGraphqlApi, type GraphqlApi } from "../../sidecar/src/api/graphql.js";
import type { OdooReader } from "../../sidecar/src/api/odoo-reader.js";
import type { QueryLimits } from "../../sidecar/src/api/security.js";
import { createEventChecker, createMessageParser } from "../../sidecar/src/canonical/parse.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics, type Metrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createReplayer } from "../../sidecar/src/pipeline/replay.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";

export const ADMIN: Principal = { name: "admin", scopes: ["admin"] };

export interface GqlAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: any;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export interface ApiHarness {
  api: GraphqlApi;
  store: Store;
  bus: Bus;
  ingestor: Ingestor;
  metrics: Metrics;
  gql(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): Promise<GqlAnswer>;
  close(): Promise<void>;
}

export async function createApiHarness(
  options: {
    reader?: OdooReader;
    limits?: QueryLimits;
    graphiql?: boolean;
    site?: string;
    corsOrigins?: string[];
    maxQueuedEvents?: number;
  } = {},
): Promise<ApiHarness> {
  const dir = mkdtempSync(join(tmpdir(), "pb-api-"));
  const store = await openStore(join(dir, "store.db"));
  const bus = new Bus();
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: "silent" });
  const ingestor = createIngestor({ store, metrics, logger, bus });
  const api = createGraphqlApi({
    store,
    ingestor,
    bus,
    metrics,
    check: createEventChecker(),
    replay: createReplayer({ store, parse: createMessageParser(), ingestor }),
    defaultSite: options.site ?? "main",
    health: () => ({
      name: "test",
      version: "0.0.0",
      mqttConnected: true,
      odooConfigured: options.reader !== undefined,
      odooUp: options.reader !== undefined,
    }),
    ...(options.reader && { reader: options.reader }),
    ...(options.limits && { limits: options.limits }),
    graphiql: options.graphiql ?? false,
    ...(options.corsOrigins && { corsOrigins: options.corsOrigins }),
    ...(options.maxQueuedEvents && { maxQueuedEvents: options.maxQueuedEvents }),
  });
  return {
    api,
    store,
    bus,
    ingestor,
    metrics,
    async gql(query, variables = {}, principal = ADMIN) {
      const res = await api.fetch(
        "http://localhost/graphql",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, variables }),
        },
        { principal },
      );
      const body = (await res.json()) as Omit<GqlAnswer, "status">;
      return { status: res.status, ...body };
    },
    async close() {
      api.dispose();
      await ingestor.flush();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
