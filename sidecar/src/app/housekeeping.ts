/**
 * Periodic housekeeping of a running sidecar: the outbox and dead-letter gauges, the retention
 * purge, and the dead-letter budget (a flood of distinct bad input cannot fill the disk: open dead
 * letters have a budget per site and code; what it evicts is counted in the store and in the
 * metrics).
 */
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/types.js";
import type { Closable } from "./shutdown.js";

export interface HousekeepingFeature extends Closable {
  /** Refreshes the store gauges now (the /metrics endpoint calls it before answering). */
  refreshMetrics(): Promise<void>;
}

export function startHousekeeping(options: {
  config: Pick<Config, "retentionDays" | "deadLetterBudget">;
  store: Store;
  metrics: Metrics;
  logger: Logger;
}): HousekeepingFeature {
  const { config, store, metrics, logger } = options;
  const refreshMetrics = async () => {
    const stats = await store.stats();
    const now = Date.now();
    for (const s of stats.sites) {
      metrics.outboxPending.set({ site: s.site }, s.pending);
      metrics.deadLetters.set({ site: s.site }, s.deadLetters);
      metrics.oldestPendingSeconds.set(
        { site: s.site },
        s.oldestPendingAt === null ? 0 : (now - s.oldestPendingAt) / 1000,
      );
      for (const l of s.lanes) {
        const labels = { site: s.site, lane: l.lane };
        metrics.lanePending.set(labels, l.pending);
        metrics.laneLagSeconds.set(
          labels,
          l.oldestPendingAt === null ? 0 : (now - l.oldestPendingAt) / 1000,
        );
      }
    }
  };
  const every = (ms: number, fn: () => void) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(5000, () => void refreshMetrics().catch(() => undefined)),
    every(3_600_000, () => {
      const cutoff = Date.now() - config.retentionDays * 86_400_000;
      store
        .purge({ settledBefore: cutoff, closedDeadLettersBefore: cutoff })
        .then((r) => (r.events || r.deadLetters) && logger.info(r, "retention purge"))
        .catch((err: unknown) => logger.warn({ err }, "retention purge failed"));
    }),
    every(60_000, () => {
      store
        .trimDeadLetters(config.deadLetterBudget)
        .then((evicted) => {
          for (const e of evicted) {
            metrics.deadLettersEvicted.inc({ site: e.site, code: e.code }, e.evicted);
            logger.warn(e, "dead letter budget reached: the oldest were evicted");
          }
        })
        .catch((err: unknown) => logger.warn({ err }, "dead letter trim failed"));
    }),
  ];
  return {
    refreshMetrics,
    async close() {
      for (const t of timers) clearInterval(t);
    },
  };
}
