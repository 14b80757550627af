import type { OutboundRow } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { Logger } from "../logger.js";
import type { Bus } from "../pipeline/bus.js";

export interface OutboundPollerOptions {
  client: OdooClient;
  site: string;
  sinks: () => OutboundSink[];
  logger: Logger;
  bus: Bus;
  /** @default 5000 */
  intervalMs?: number;
  /**
   * Whether to poll now: a standby of an ingest group leaves releases to the owner (the sidecar
   * connected to the broker). @default always
   */
  active?: () => boolean;
  /** Deliveries of one row before it is acknowledged as failed in Odoo. @default 5 */
  maxAttempts?: number;
  /** The environment this sidecar declares (Odoo releases nothing to another one). */
  environment?: string;
}

export interface OutboundPoller {
  /** Fetches and delivers once; resolves with the number of rows acknowledged. */
  poll(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Fetches pending `order_release` / `order_change` / `order_cancel` / `order_done` rows, hands each to every
 * configured sink and acknowledges it with the sinks' outcome. A row a sink could not take is
 * retried on the next polls (its `id` is a stable key the plant can de-duplicate on) and reported
 * `failed` after `maxAttempts`.
 */
export function createOutboundPoller(options: OutboundPollerOptions): OutboundPoller {
  const { client, logger } = options;
  const maxAttempts = options.maxAttempts ?? 5;
  const attempts = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<number> | undefined;

  async function pollOnce(): Promise<number> {
    if (options.active && !options.active()) return 0;
    const rows = await client.call<OutboundRow[]>("plant_bridge.api", "fetch_outbound", {
      site: options.site,
      limit: 100,
      ...(options.environment && { environment: options.environment }),
    });
    const acks: Array<{
      id: number;
      state: "acknowledged" | "failed";
      sink: string;
      message: string;
    }> = [];
    for (const row of rows) {
      const sinks = options.sinks();
      const failures: string[] = [];
      for (const sink of sinks) {
        try {
          await sink.deliver(row);
        } catch (err) {
          failures.push(`${sink.name}: ${(err as Error).message}`);
        }
      }
      const names = sinks.map((s) => s.name).join(", ");
      if (failures.length === 0 && sinks.length > 0) {
        acks.push({ id: row.id, state: "acknowledged", sink: names, message: "" });
        attempts.delete(row.id);
        options.bus.emit("orderReleased", {
          site: options.site,
          payload: { ...row.payload, outboundId: row.id, type: row.type },
        });
        continue;
      }
      const n = (attempts.get(row.id) ?? 0) + 1;
      attempts.set(row.id, n);
      const message = sinks.length === 0 ? "no sink configured" : failures.join("; ");
      logger.warn(
        { outbound: row.id, order: row.order, attempt: n, message },
        "outbound delivery failed",
      );
      if (n >= maxAttempts) {
        acks.push({ id: row.id, state: "failed", sink: names, message });
        attempts.delete(row.id);
      }
    }
    if (acks.length) await client.call("plant_bridge.api", "ack_outbound", { acks });
    return acks.filter((a) => a.state === "acknowledged").length;
  }

  function poll(): Promise<number> {
    polling ??= pollOnce().finally(() => (polling = undefined));
    return polling;
  }

  return {
    poll,
    start() {
      const tick = () =>
        void poll().catch((err: unknown) =>
          logger.warn({ err: { message: (err as Error).message } }, "outbound poll failed"),
        );
      timer = setInterval(tick, options.intervalMs ?? 5000);
      timer.unref();
      tick();
    },
    async stop() {
      clearInterval(timer);
      await polling?.catch(() => undefined);
    },
  };
}
