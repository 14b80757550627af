import type { Principal } from "../../contracts/http.js";
import type { MachineStatusEvent } from "../../canonical/types.js";
import type { Metrics } from "../../metrics.js";
import type { Bus, ProcessedEvent } from "../../pipeline/bus.js";
import type { Store } from "../../store/types.js";
import { maySite } from "../auth.js";
import { boundedStream, type BoundedStream } from "../bounded-stream.js";
import { requireScope, siteFilter } from "../access.js";
import type { EventType, OrderReleaseType, Resolvers } from "../generated/graphql.js";
import type { Sidecar } from "../model.js";

export interface LiveResolversOptions {
  store: Store;
  bus: Bus;
  defaultSite: string;
  /** Live facts for `sidecar { ... }`. */
  health: () => Omit<Sidecar, "site" | "storeKind" | "sites">;
  /** The sidecar's Prometheus metrics for `sidecar { metrics }`. */
  metrics?: Metrics;
  /**
   * Events one subscription may have waiting for its reader; one more ends it (SLOW_CONSUMER).
   * Above the largest posting batch (5,000), whose answers are announced at once. @default 10000
   */
  maxQueuedEvents?: number;
}

export interface OrderReleased {
  site: string;
  payload: Record<string, unknown>;
}

/** Subscriptions (SSE and WebSocket alike) and the sidecar's own health and metrics. */
export function createLiveResolvers(options: LiveResolversOptions): {
  resolvers: Resolvers;
  close: () => void;
} {
  const { store, bus } = options;
  const maxQueued = options.maxQueuedEvents ?? 10_000;
  const open = new Set<BoundedStream<unknown>>();
  type Topic = "eventProcessed" | "machineStatusChanged" | "orderReleased";

  /** One subscriber's events of a topic, for the sites it may see, bounded. */
  function stream<T extends { site: string }>(
    topic: Topic,
    principal: Principal,
    asked: string | null | undefined,
  ): AsyncIterableIterator<T> {
    const site = siteFilter(principal, asked);
    const s = boundedStream<T>({
      max: maxQueued,
      attach: (push) => {
        const listener = (e: T) => {
          if ((site === undefined || e.site === site) && maySite(principal, e.site)) push(e);
        };
        bus.on(topic, listener as never);
        return () => {
          bus.off(topic, listener as never);
          open.delete(s as BoundedStream<unknown>);
        };
      },
      onOverflow: () => options.metrics?.streamsDropped.inc({ reason: "slow_consumer" }),
    });
    open.add(s as BoundedStream<unknown>);
    return s;
  }

  const resolvers: Resolvers = {
    Query: {
      sidecar: async (_, __, { principal }) => {
        requireScope(principal, "read:health");
        const stats = await store.stats();
        return {
          ...options.health(),
          site: options.defaultSite,
          storeKind: store.kind,
          sites: stats.sites
            .filter((s) => maySite(principal, s.site))
            .map((s) => ({
              ...s,
              oldestPendingAt: s.oldestPendingAt === null ? null : new Date(s.oldestPendingAt),
            })),
        };
      },
    },
    Sidecar: {
      metrics: async (_, args) => {
        if (!options.metrics) return [];
        const wanted = args.names ? new Set(args.names) : undefined;
        const all = await options.metrics.registry.getMetricsAsJSON();
        return all
          .filter(
            (m) =>
              m.name.startsWith("plant_bridge_") && !m.name.startsWith("plant_bridge_process_"),
          )
          .filter((m) => !wanted || wanted.has(m.name))
          .flatMap((m) =>
            m.values.map((v) => ({
              name: (v as { metricName?: string }).metricName ?? m.name,
              labels: v.labels,
              value: v.value,
            })),
          );
      },
    },
    Subscription: {
      eventProcessed: {
        subscribe: (_, args, { principal }) => {
          requireScope(principal, "read:messages");
          return stream<ProcessedEvent>("eventProcessed", principal, args.site);
        },
        resolve: (e: ProcessedEvent) => ({
          ...e,
          eventType: e.type as EventType | null,
          at: new Date(e.at),
        }),
      },
      machineStatusChanged: {
        subscribe: (_, args, { principal }) => {
          requireScope(principal, "read:machines");
          return stream<MachineStatusEvent>("machineStatusChanged", principal, args.site);
        },
        resolve: (e: MachineStatusEvent) => ({
          ...e,
          eventId: e.id,
          // `workcenter` stays (deprecated) until removed; `workCenter` is the API's spelling
          workCenter: e.workcenter,
          reason: e.reason ?? null,
          counters: e.counters ?? null,
        }),
      },
      orderReleased: {
        subscribe: (_, args, { principal }) => {
          requireScope(principal, "read:orders");
          return stream<OrderReleased>("orderReleased", principal, args.site);
        },
        resolve: (e: OrderReleased) => {
          const p = e.payload;
          return {
            site: e.site,
            type: String(p.type) as OrderReleaseType,
            order: String(p.order),
            name: typeof p.name === "string" ? p.name : null,
            key: String(p.id ?? `${p.type}:${p.order}:${p.outboundId}`),
            product: typeof p.product === "string" ? p.product : null,
            quantity: typeof p.quantity === "number" ? p.quantity : null,
            remaining: typeof p.remaining === "number" ? p.remaining : null,
            produced: typeof p.produced === "number" ? p.produced : null,
            priority: typeof p.priority === "number" ? p.priority : null,
            origin: typeof p.origin === "string" ? p.origin : null,
            due: typeof p.due === "string" ? p.due : null,
            payload: p,
          };
        },
      },
    },
  };
  return {
    resolvers,
    close() {
      for (const s of [...open]) s.end();
    },
  };
}
