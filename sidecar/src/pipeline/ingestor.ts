import type { MessageContext, ParsedItem } from "../canonical/parse.js";
import { orderKeyOf } from "../canonical/types.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { describeError, PlantBridgeError, StoreError } from "../errors.js";
import { checkStateWrites } from "../store/state.js";
import type { IngestItem, IngestOptions, IngestResult, StateWrite, Store } from "../store/types.js";
import type { Bus } from "./bus.js";
import { createGroupCommit } from "./group-commit.js";

export interface IngestorOptions {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  bus: Bus;
  /** @default Date.now */
  now?: () => number;
  /** Most items in one store transaction. @default 1000 */
  maxBatch?: number;
}

/** Whether the store takes commits: what readiness and the hold-back of input report. */
export interface StoreHealth {
  ok: boolean;
  /** Commits that failed in a row (0 once one succeeds). */
  failures: number;
  /** Epoch ms of the first failure of the current run of failures. */
  since?: number;
  /** The last failure, described without secrets. */
  lastError?: string;
}

export interface Ingestor {
  /**
   * Makes parsed inputs durable (events in the outbox, rejections as dead letters) and resolves
   * only after the commit, with one result per item in order. `options.state` commits in the
   * same transaction as these items (also with none); other callers' items may share that
   * transaction, but a `state_conflict` only ever fails the caller whose write caused it.
   */
  ingest(
    items: ParsedItem[],
    ctx: Pick<MessageContext, "source" | "origin">,
    options?: IngestOptions,
  ): Promise<IngestResult[]>;
  flush(): Promise<void>;
  /** Whether the last commit succeeded, and since when commits fail. */
  health(): StoreHealth;
}

/** The one entry into the store for every ingress (MQTT, GraphQL, legacy pulls, simulator). */
export function createIngestor(options: IngestorOptions): Ingestor {
  const { store, metrics, bus } = options;
  const now = options.now ?? Date.now;
  let health: StoreHealth = { ok: true, failures: 0 };
  async function commit(items: IngestItem[], state: StateWrite[]): Promise<IngestResult[]> {
    try {
      const results = await store.ingest(items, state.length > 0 ? { state } : undefined);
      if (!health.ok) options.logger.info({ after: health.failures }, "store commits again");
      health = { ok: true, failures: 0 };
      return results;
    } catch (err) {
      // A typed error is about this input (a conflict, a value the store refuses): not the store's.
      if (err instanceof PlantBridgeError) throw err;
      metrics.storeFailures.inc();
      health = {
        ok: false,
        failures: health.failures + 1,
        since: health.since ?? now(),
        lastError: describeError(err),
      };
      throw new StoreError(`the store did not commit: ${describeError(err)}`, { cause: err });
    }
  }
  const group = createGroupCommit<IngestItem, IngestResult, StateWrite>({
    commit,
    maxItems: options.maxBatch ?? 1000,
    // A batch of dead letters alone (an oversized message arrives by itself: the stream stalls
    // while its bytes come in) waits 5 ms for the good messages behind it, so it does not cost
    // a commit of its own.
    linger: (items) => (items.every((i) => i.kind === "reject") ? 5 : 0),
    // transient: the permanent `state_conflict` of a dead-letter replay is another error
    isolate: (err) =>
      err instanceof PlantBridgeError && err.code === "state_conflict" && err.kind === "transient",
  });

  return {
    async ingest(parsed, ctx, ingestOptions = {}) {
      const state = ingestOptions.state ?? [];
      // Checked here, not in the merged commit: a bad write must fail only its own caller.
      checkStateWrites(state);
      const receivedAt = now();
      const items: IngestItem[] = parsed.map((p) =>
        p.kind === "event"
          ? {
              kind: "event",
              event: p.event,
              source: ctx.source,
              origin: ctx.origin,
              orderKey: orderKeyOf(p.event),
              receivedAt,
            }
          : { kind: "reject", rejection: p.rejection, receivedAt },
      );
      const results = await group.submit(items, state);
      results.forEach((result, i) => {
        const item = items[i]!;
        const site = item.kind === "event" ? item.event.site : item.rejection.site;
        metrics.received.inc({ site, source: ctx.source });
        if (item.kind === "event") {
          const status = result.status === "duplicate" ? "duplicate" : "accepted";
          if (status === "duplicate") metrics.duplicate.inc({ site });
          else {
            bus.emit("accepted", item.event);
            if (item.event.type === "machine_status") bus.emit("machineStatusChanged", item.event);
          }
          bus.emit("eventProcessed", {
            site,
            eventId: item.event.id,
            type: item.event.type,
            status,
            code: status === "duplicate" ? "duplicate" : null,
            message: null,
            source: ctx.source,
            at: receivedAt,
          });
        } else {
          const r = item.rejection;
          metrics.rejected.inc({ site, code: r.code });
          bus.emit("eventProcessed", {
            site,
            eventId: r.eventId ?? null,
            type: null,
            status: "rejected",
            code: r.code,
            message: r.message,
            source: r.source,
            at: receivedAt,
          });
        }
      });
      return results;
    },
    flush: () => group.flush(),
    health: () => health,
  };
}
