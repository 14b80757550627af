/**
 * Run history to Odoo (`plant_bridge.api.report_runs`, docs/odoo-api.md): each finished run is
 * queued in the store (so a run is not forgotten while Odoo is away or across a restart) and sent
 * in batches per site; Odoo files them under their schedule and ignores a key it already has, so
 * a batch sent again after a lost answer records nothing twice.
 */
import type { Logger } from "../logger.js";
import type { Store } from "../store/types.js";
import type { RunRecord } from "./scheduler.js";

export interface RunReporterOptions {
  store: Pick<Store, "getState" | "setState">;
  /** This sidecar's name (each sidecar keeps its own queue in a shared store). */
  sidecar: string;
  /** Sends one site's runs; undefined without Odoo (runs are only logged then). */
  send?: (site: string, runs: RunRecord[]) => Promise<void>;
  logger: Logger;
  /** @default 15000 */
  intervalMs?: number;
  /** Runs kept while Odoo is away; the oldest go first beyond. @default 500 */
  maxKept?: number;
}

export interface RunReporter {
  record(run: RunRecord): Promise<void>;
  /** Sends what is queued; resolves with the number of runs Odoo took. */
  flush(): Promise<number>;
  pending(): Promise<RunRecord[]>;
  start(): void;
  stop(): Promise<void>;
}

export function createRunReporter(options: RunReporterOptions): RunReporter {
  const { store, logger } = options;
  const key = `legacy.runs.${options.sidecar}`;
  const maxKept = options.maxKept ?? 500;
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let flushSoon: NodeJS.Timeout | undefined;

  /** Read-modify-write of the queue, one at a time. */
  function update<T>(fn: (runs: RunRecord[]) => { runs: RunRecord[]; result: T }): Promise<T> {
    const next = chain.then(async () => {
      const text = await store.getState(key);
      const { runs, result } = fn(text ? (JSON.parse(text) as RunRecord[]) : []);
      await store.setState([{ key, value: runs.length ? JSON.stringify(runs) : null }]);
      return result;
    });
    chain = next.catch(() => undefined);
    return next;
  }

  let flushing: Promise<number> | undefined;
  function flush(): Promise<number> {
    flushing ??= flushOnce().finally(() => (flushing = undefined));
    return flushing;
  }

  async function flushOnce(): Promise<number> {
    if (!options.send) return 0;
    const queued = await pendingRuns();
    const bySite = new Map<string, RunRecord[]>();
    for (const r of queued) bySite.set(r.site, [...(bySite.get(r.site) ?? []), r]);
    let sent = 0;
    for (const [site, runs] of bySite) {
      try {
        await options.send(site, runs);
      } catch (err) {
        logger.debug(
          { err: { message: (err as Error).message }, site },
          "run history not sent yet",
        );
        continue;
      }
      const done = new Set(runs.map((r) => r.key));
      await update((all) => ({ runs: all.filter((r) => !done.has(r.key)), result: undefined }));
      sent += runs.length;
    }
    return sent;
  }

  async function pendingRuns(): Promise<RunRecord[]> {
    await chain;
    const text = await store.getState(key);
    return text ? (JSON.parse(text) as RunRecord[]) : [];
  }

  return {
    async record(run) {
      if (!options.send) return;
      await update((runs) => {
        const all = [...runs, run];
        if (all.length > maxKept)
          logger.warn(
            { dropped: all.length - maxKept },
            "run history queue full: oldest runs dropped",
          );
        return { runs: all.slice(-maxKept), result: undefined };
      });
      // Runs of frequent schedules travel together: one call for what ends within a second.
      flushSoon ??= setTimeout(() => {
        flushSoon = undefined;
        void flush().catch(() => undefined);
      }, 1000);
      flushSoon.unref();
    },
    flush,
    pending: pendingRuns,
    start() {
      if (!options.send) return;
      timer = setInterval(() => void flush().catch(() => undefined), options.intervalMs ?? 15_000);
      timer.unref();
      void flush().catch(() => undefined);
    },
    async stop() {
      clearInterval(timer);
      clearTimeout(flushSoon);
      await chain;
      await flush().catch(() => undefined);
    },
  };
}
