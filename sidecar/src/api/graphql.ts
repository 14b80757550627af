import type { EventChecker } from "../contracts/checkers.js";
import type { Principal } from "../contracts/http.js";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { Metrics } from "../metrics.js";
import type { Bus } from "../pipeline/bus.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { createReplayer } from "../pipeline/replay.js";
import type { Store } from "../store/types.js";
import type { ApiContext } from "./context.js";
import type { Resolvers } from "./generated/graphql.js";
import { createLiveState } from "./live-state.js";
import { createLoaders } from "./loaders.js";
import type { Sidecar } from "./model.js";
import { createOdooReader, type OdooReader } from "./odoo-reader.js";
import { createEventResolvers } from "./resolvers/events.js";
import { createLiveResolvers } from "./resolvers/live.js";
import { createManufacturingResolvers } from "./resolvers/manufacturing.js";
import { createTraceResolvers } from "./resolvers/trace.js";
import { loadSchemaSdl } from "./schema.js";
import {
  PREFLIGHT_HEADERS,
  useCsrfPrevention,
  useNoIntrospection,
  useQueryLimits,
  useTokenLimit,
  useValidationStatus,
  type QueryLimits,
} from "./security.js";

export type { ApiContext } from "./context.js";

export interface GraphqlApiOptions {
  store: Store;
  ingestor: Ingestor;
  check: EventChecker;
  replay: ReturnType<typeof createReplayer>;
  bus: Bus;
  defaultSite: string;
  /** Live facts for `sidecar { ... }`. */
  health: () => Omit<Sidecar, "site" | "storeKind" | "sites">;
  /** Reads of the manufacturing model. @default Odoo offline: such reads answer CONFIG_ERROR */
  reader?: OdooReader;
  /** Prometheus metrics for `sidecar { metrics }`. @default none */
  metrics?: Metrics;
  /** GraphiQL and introspection. @default false */
  graphiql?: boolean;
  /** Most events in one submitEvents call. @default 1000 */
  maxEventsPerCall?: number;
  /** Depth / alias / token / cost limits. @default see QueryLimits */
  limits?: QueryLimits;
  /**
   * Browser origins allowed to call the API across origins (CORS), e.g. the Odoo a screen is
   * served from. Never with credentials: tokens travel in the Authorization header. @default none
   */
  corsOrigins?: string[];
  /** Events one subscription may have waiting for its reader (SLOW_CONSUMER beyond). @default 10000 */
  maxQueuedEvents?: number;
}

/** What the HTTP server and the WebSocket server hand to yoga with each request. */
export interface ServerContext {
  principal: Principal;
}

export type GraphqlApi = YogaServerInstance<ServerContext, Pick<ApiContext, "loaders">> & {
  /** Detaches from the bus. */
  dispose(): void;
};

/**
 * The GraphQL API (graphql-yoga), schema first from graphql/schema/*.graphql, types generated
 * from it (`npm run codegen`). Authentication happens before yoga (http-server.ts, ws.ts): every
 * request arrives with a principal. Unexpected errors are masked.
 */
export function createGraphqlApi(options: GraphqlApiOptions): GraphqlApi {
  const reader = options.reader ?? createOdooReader({ client: undefined });
  const live = createLiveState(options.bus);
  const liveResolvers = createLiveResolvers(options);
  const resolvers = mergeResolvers(
    { JSON: JSONResolver, DateTime: DateTimeResolver } as Resolvers,
    createManufacturingResolvers({ reader, live, defaultSite: options.defaultSite }),
    createTraceResolvers(options),
    createEventResolvers(options),
    liveResolvers.resolvers,
  );
  const introspection = options.graphiql ?? false;
  const plugins: Plugin[] = [
    useCsrfPrevention(),
    useTokenLimit(options.limits?.maxTokens),
    useQueryLimits(options.limits, introspection),
    ...(introspection ? [] : [useNoIntrospection()]),
    useValidationStatus(),
  ];
  const yoga = createYoga<ServerContext, Pick<ApiContext, "loaders">>({
    schema: createSchema<ServerContext & Pick<ApiContext, "loaders">>({
      typeDefs: loadSchemaSdl(),
      resolvers: resolvers as never,
    }),
    context: () => ({ loaders: createLoaders(reader) }),
    graphqlEndpoint: "/graphql",
    graphiql: introspection,
    landingPage: false,
    maskedErrors: true,
    batching: false,
    logging: false,
    // yoga's default reflects any origin with credentials; only the configured ones are allowed
    cors: options.corsOrigins?.length
      ? {
          origin: options.corsOrigins,
          credentials: false,
          methods: ["GET", "POST"],
          allowedHeaders: ["authorization", "content-type", "accept", ...PREFLIGHT_HEADERS],
        }
      : false,
    plugins,
  });
  return Object.assign(yoga, {
    dispose() {
      liveResolvers.close();
      live.close();
    },
  });
}

/** Merges resolver maps type by type (each file contributes fields to shared types). */
function mergeResolvers(...maps: Resolvers[]): Resolvers {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) {
      if (typeof fields !== "object" || fields === null || type === "JSON" || type === "DateTime") {
        (merged as Record<string, unknown>)[type] = fields;
        continue;
      }
      merged[type] = { ...merged[type], ...(fields as Record<string, unknown>) };
    }
  }
  return merged as Resolvers;
}
