import { readFileSync } from "node:fs";
import { GraphQLError } from "graphql";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import {
  createPubSub,
  createSchema,
  createYoga,
  filter,
  pipe,
  type YogaServerInstance,
} from "graphql-yoga";
import type { createEventChecker } from "../canonical/parse.js";
import { PlantBridgeError } from "../errors.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { Bus, ProcessedEvent } from "../pipeline/bus.js";
import type { createReplayer } from "../pipeline/replay.js";
import { projectPath } from "../paths.js";
import type { DeadLetter, MessageRow, Store } from "../store/types.js";
import { hasScope, maySite, type Principal } from "./auth.js";
import type { MachineStatusEvent } from "../canonical/types.js";

export interface ApiContext {
  principal: Principal;
}

export interface GraphqlApiOptions {
  store: Store;
  ingestor: Ingestor;
  check: ReturnType<typeof createEventChecker>;
  replay: ReturnType<typeof createReplayer>;
  bus: Bus;
  defaultSite: string;
  /** Live facts for `sidecar { ... }`. */
  health: () => {
    name: string;
    version: string;
    mqttConnected: boolean;
    odooConfigured: boolean;
    odooUp: boolean;
  };
  /** GraphiQL and introspection. @default false */
  graphiql?: boolean;
  /** Most events in one submitEvents call. @default 1000 */
  maxEventsPerCall?: number;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type GraphqlApi = YogaServerInstance<ApiContext, {}>;

const typeDefs = readFileSync(projectPath("graphql/schema.graphql"), "utf8");

/** The GraphQL API (graphql-yoga): schema first, from graphql/schema.graphql. */
export function createGraphqlApi(options: GraphqlApiOptions): GraphqlApi {
  const { store, bus } = options;
  const maxEvents = options.maxEventsPerCall ?? 1000;
  const pubsub = createPubSub<{
    eventProcessed: [ProcessedEvent];
    machineStatusChanged: [MachineStatusEvent];
  }>();
  bus.on("eventProcessed", (e) => pubsub.publish("eventProcessed", e));
  bus.on("machineStatusChanged", (e) => pubsub.publish("machineStatusChanged", e));

  const resolvers = {
    JSON: JSONResolver,
    DateTime: DateTimeResolver,
    Query: {
      sidecar: async (_: unknown, __: unknown, ctx: ApiContext) => {
        requireScope(ctx, "read:health");
        const stats = await store.stats();
        return {
          ...options.health(),
          site: options.defaultSite,
          storeKind: store.kind,
          sites: stats.sites
            .filter((s) => maySite(ctx.principal, s.site))
            .map((s) => ({
              ...s,
              oldestPendingAt: s.oldestPendingAt === null ? null : new Date(s.oldestPendingAt),
            })),
        };
      },
      messages: async (
        _: unknown,
        args: {
          filter?: {
            site?: string;
            type?: MessageRow["type"];
            state?: MessageRow["state"];
            order?: string;
          };
          first: number;
          after?: string;
        },
        ctx: ApiContext,
      ) => {
        requireScope(ctx, "read:messages");
        const f = args.filter ?? {};
        const site = scopedSite(ctx, f.site);
        const first = pageSize(args.first);
        const rows = await store.listMessages({
          ...(site !== undefined && { site }),
          ...(f.type && { type: f.type }),
          ...(f.state && { state: f.state }),
          ...(f.order && { orderKey: `${site ?? options.defaultSite}/order/${f.order}` }),
          limit: first + 1,
          ...(args.after && { beforeSeq: decodeCursor(args.after) }),
        });
        return connection(
          rows.filter((r) => maySite(ctx.principal, r.site)),
          first,
          (r) => r.seq,
          messageNode,
        );
      },
      deadLetters: async (
        _: unknown,
        args: {
          filter?: { site?: string; code?: string; state?: DeadLetter["state"] };
          first: number;
          after?: string;
        },
        ctx: ApiContext,
      ) => {
        requireScope(ctx, "read:messages");
        const f = args.filter ?? {};
        const site = scopedSite(ctx, f.site);
        const first = pageSize(args.first);
        const rows = await store.listDeadLetters({
          ...(site !== undefined && { site }),
          ...(f.code && { code: f.code }),
          ...(f.state && { state: f.state }),
          limit: first + 1,
          ...(args.after && { beforeId: decodeCursor(args.after) }),
        });
        return connection(
          rows.filter((r) => maySite(ctx.principal, r.site)),
          first,
          (r) => r.id,
          deadLetterNode,
        );
      },
    },
    Mutation: {
      submitEvents: async (
        _: unknown,
        args: { events: unknown[]; site?: string },
        ctx: ApiContext,
      ) => {
        requireScope(ctx, "write:events");
        if (args.events.length > maxEvents) {
          throw new GraphQLError(`at most ${maxEvents} events per call`, {
            extensions: { code: "BAD_USER_INPUT", errorCode: "too_large" },
          });
        }
        const site = args.site ?? ctx.principal.sites?.[0] ?? options.defaultSite;
        if (!maySite(ctx.principal, site))
          throw forbidden(`this token may not act on site ${site}`);
        const origin = `graphql:${ctx.principal.name}`;
        const items = args.events.map((e) => options.check(e, { site, source: "graphql", origin }));
        const results = await options.ingestor.ingest(items, { source: "graphql", origin });
        return items.map((item, i) => {
          const r = results[i]!;
          if (item.kind === "reject") {
            return {
              id: item.rejection.eventId ?? null,
              status: "rejected",
              code: item.rejection.code,
              message: item.rejection.message,
            };
          }
          return {
            id: item.event.id,
            status: r.status === "duplicate" ? "duplicate" : "accepted",
            code: r.status === "duplicate" ? "duplicate" : null,
            message: null,
          };
        });
      },
      replayDeadLetter: async (
        _: unknown,
        args: { id: string; payload?: unknown },
        ctx: ApiContext,
      ) => {
        requireScope(ctx, "admin");
        await siteOfDeadLetter(ctx, args.id);
        try {
          const edited =
            args.payload === undefined || args.payload === null
              ? undefined
              : JSON.stringify(args.payload);
          const outcome = await options.replay(Number(args.id), edited);
          return {
            deadLetter: deadLetterNode(outcome.deadLetter),
            results: outcome.results.map((r) =>
              r.status === "dead_letter"
                ? {
                    id: null,
                    status: "rejected",
                    code: "replayed_rejected",
                    message: `dead letter ${r.deadLetterId}`,
                  }
                : {
                    id: outcome.deadLetter.eventId,
                    status: r.status === "duplicate" ? "duplicate" : "accepted",
                    code: null,
                    message: null,
                  },
            ),
          };
        } catch (err) {
          throw toGraphqlError(err);
        }
      },
      discardDeadLetter: async (
        _: unknown,
        args: { id: string; reason: string },
        ctx: ApiContext,
      ) => {
        requireScope(ctx, "admin");
        await siteOfDeadLetter(ctx, args.id);
        await store.discardDeadLetter(Number(args.id), args.reason.slice(0, 1000));
        return deadLetterNode((await store.getDeadLetter(Number(args.id)))!);
      },
    },
    Subscription: {
      eventProcessed: {
        subscribe: (_: unknown, args: { site?: string }, ctx: ApiContext) => {
          requireScope(ctx, "read:messages");
          const site = scopedSite(ctx, args.site);
          return pipe(
            pubsub.subscribe("eventProcessed"),
            filter(
              (e: ProcessedEvent) =>
                (site === undefined || e.site === site) && maySite(ctx.principal, e.site),
            ),
          );
        },
        resolve: (e: ProcessedEvent) => ({ ...e, at: new Date(e.at) }),
      },
      machineStatusChanged: {
        subscribe: (_: unknown, args: { site?: string }, ctx: ApiContext) => {
          requireScope(ctx, "read:machines");
          const site = scopedSite(ctx, args.site);
          return pipe(
            pubsub.subscribe("machineStatusChanged"),
            filter(
              (e: MachineStatusEvent) =>
                (site === undefined || e.site === site) && maySite(ctx.principal, e.site),
            ),
          );
        },
        resolve: (e: MachineStatusEvent) => ({
          ...e,
          eventId: e.id,
          reason: e.reason ?? null,
          counters: e.counters ?? null,
        }),
      },
    },
  };

  async function siteOfDeadLetter(ctx: ApiContext, id: string): Promise<void> {
    const dl = /^\d{1,15}$/.test(id) ? await store.getDeadLetter(Number(id)) : undefined;
    if (!dl || !maySite(ctx.principal, dl.site)) {
      throw new GraphQLError(`no dead letter ${id}`, { extensions: { code: "NOT_FOUND" } });
    }
  }

  return createYoga<ApiContext>({
    schema: createSchema<ApiContext>({ typeDefs, resolvers }),
    graphqlEndpoint: "/graphql",
    graphiql: options.graphiql ?? false,
    landingPage: false,
    maskedErrors: true,
    logging: false,
  });

  function scopedSite(ctx: ApiContext, site: string | undefined): string | undefined {
    if (site !== undefined && !maySite(ctx.principal, site))
      throw forbidden(`this token may not read site ${site}`);
    return site ?? (ctx.principal.sites?.length === 1 ? ctx.principal.sites[0] : undefined);
  }
}

function requireScope(ctx: ApiContext, scope: string): void {
  if (!hasScope(ctx.principal, scope)) throw forbidden(`this token lacks the ${scope} scope`);
}

function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN" } });
}

function toGraphqlError(err: unknown): unknown {
  if (err instanceof PlantBridgeError && err.kind === "permanent") {
    return new GraphQLError(err.message, {
      extensions: { code: "BAD_USER_INPUT", errorCode: err.code },
    });
  }
  return err;
}

function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > 500) {
    throw new GraphQLError("first must be between 1 and 500", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return first;
}

function encodeCursor(n: number): string {
  return Buffer.from(`c:${n}`).toString("base64url");
}

function decodeCursor(cursor: string): number {
  const match = /^c:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new GraphQLError("invalid cursor", { extensions: { code: "BAD_USER_INPUT" } });
  return Number(match[1]);
}

function connection<T, N>(rows: T[], first: number, key: (r: T) => number, node: (r: T) => N) {
  const page = rows.slice(0, first);
  return {
    edges: page.map((r) => ({ node: node(r), cursor: encodeCursor(key(r)) })),
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: page.length ? encodeCursor(key(page[page.length - 1]!)) : null,
    },
  };
}

function messageNode(r: MessageRow) {
  return {
    ...r,
    id: String(r.seq),
    receivedAt: new Date(r.receivedAt),
    settledAt: r.settledAt === null ? null : new Date(r.settledAt),
    odooRef: r.ref,
  };
}

function deadLetterNode(d: DeadLetter) {
  return {
    ...d,
    id: String(d.id),
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.updatedAt),
  };
}
