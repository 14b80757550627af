import type { EventChecker } from "../../contracts/checkers.js";
import type { Principal } from "../../contracts/http.js";
import type { EventType } from "../../canonical/schema.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import type { createReplayer } from "../../pipeline/replay.js";
import type { Store } from "../../store/types.js";
import { maySite } from "../auth.js";
import { requireScope, siteFor } from "../access.js";
import { badInput, guarded, notFound } from "../errors.js";
import type { MutationResolvers, Resolvers, SubmitResult } from "../generated/graphql.js";
import { deadLetterNode } from "./trace.js";
import { canonicalName } from "../names.js";

export interface EventResolversOptions {
  store: Store;
  ingestor: Ingestor;
  check: EventChecker;
  replay: ReturnType<typeof createReplayer>;
  defaultSite: string;
  /** Most events in one submitEvents call. @default 1000 */
  maxEventsPerCall?: number;
}

/**
 * The typed mutation of each event type (`reportScrap` makes a `scrap` event): one per type of
 * the canonical schema, which the compiler holds to (test/unit/event-types.test.ts checks the
 * schema's side).
 */
export const TYPED_MUTATIONS: Readonly<Record<EventType, keyof MutationResolvers>> = {
  production: "reportProduction",
  consumption: "reportConsumption",
  scrap: "reportScrap",
  downtime: "reportDowntime",
  workorder_status: "reportWorkOrderStatus",
  labor: "reportLabor",
  machine_status: "reportMachineStatus",
  quality: "reportQuality",
  nonconformance: "reportNonconformance",
  maintenance: "requestMaintenance",
  transfer: "reportTransfer",
  record: "submitRecord",
};

/**
 * Writes: submitEvents and one typed helper per event type, all through the pipeline MQTT uses
 * (validated, idempotent by site + id, durable in the outbox before the answer); dead letters.
 */
export function createEventResolvers(options: EventResolversOptions): Resolvers {
  const { store, defaultSite } = options;
  const maxEvents = options.maxEventsPerCall ?? 1000;

  async function submit(
    principal: Principal,
    site: string,
    events: unknown[],
  ): Promise<SubmitResult[]> {
    const origin = `graphql:${principal.name}`;
    const items = events.map((e) => options.check(e, { site, source: "graphql", origin }));
    const results = await options.ingestor.ingest(items, { source: "graphql", origin });
    return items.map((item, i): SubmitResult => {
      if (item.kind === "reject") {
        return {
          id: item.rejection.eventId ?? null,
          status: "rejected",
          code: item.rejection.code,
          message: item.rejection.message,
        };
      }
      const duplicate = results[i]!.status === "duplicate";
      return {
        id: item.event.id,
        status: duplicate ? "duplicate" : "accepted",
        code: duplicate ? "duplicate" : null,
        message: null,
      };
    });
  }

  /** One typed input → one canonical event of `type`, submitted like any other. */
  function typed(type: EventType) {
    return async (
      _: unknown,
      args: { input: Record<string, unknown> },
      ctx: { principal: Principal },
    ) => {
      requireScope(ctx.principal, "write:events");
      const { site: asked, occurredAt, ...fields } = args.input;
      const site = siteFor(ctx.principal, asked as string | null | undefined, defaultSite);
      const event: Record<string, unknown> = {
        type,
        site,
        occurredAt: toIso(occurredAt) ?? new Date().toISOString(),
      };
      for (const [k, v] of Object.entries(fields)) {
        if (v === null || v === undefined) continue;
        event[canonicalName(k)] = v instanceof Date ? v.toISOString() : v;
      }
      const [result] = await submit(ctx.principal, site, [event]);
      return result!;
    };
  }

  async function checkDeadLetter(principal: Principal, id: string): Promise<number> {
    const dl = /^\d{1,15}$/.test(id) ? await store.getDeadLetter(Number(id)) : undefined;
    if (!dl || !maySite(principal, dl.site)) throw notFound(`no dead letter ${id}`);
    return dl.id;
  }

  return {
    Mutation: {
      submitEvents: async (_, args, { principal }) => {
        requireScope(principal, "write:events");
        if (args.events.length > maxEvents)
          throw badInput(`at most ${maxEvents} events per call`, "too_large");
        const site = args.site ?? principal.sites?.[0] ?? defaultSite;
        siteFor(principal, site, defaultSite);
        return submit(principal, site, args.events);
      },
      ...Object.fromEntries(
        Object.entries(TYPED_MUTATIONS).map(([type, name]) => [name, typed(type as EventType)]),
      ),

      replayDeadLetter: async (_, args, { principal }) => {
        requireScope(principal, "admin");
        const id = await checkDeadLetter(principal, args.id);
        const edited = args.payload == null ? undefined : JSON.stringify(args.payload);
        const outcome = await guarded(() => options.replay(id, edited));
        return {
          deadLetter: deadLetterNode(outcome.deadLetter),
          results: outcome.results.map((r): SubmitResult =>
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
      },

      discardDeadLetter: async (_, args, { principal }) => {
        requireScope(principal, "admin");
        const id = await checkDeadLetter(principal, args.id);
        await store.discardDeadLetter(id, args.reason.slice(0, 1000));
        return deadLetterNode((await store.getDeadLetter(id))!);
      },
    },
  };
}

function toIso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" ? value : undefined;
}
