/**
 * Legacy systems in a running sidecar: the scheduler of legacy pulls (one runner per schedule
 * across sidecars when the store is PostgreSQL), its run history sent to Odoo, the legacy sinks of
 * releases, all following the sites' configuration — from Odoo (`configChanged`) and from the
 * local PLANT_BRIDGE_LEGACY file.
 */
import type { EventChecker } from "../contracts/checkers.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { MappingConfig, SiteConfig } from "../contracts/site-config.js";
import type { Config } from "../config.js";
import { createLegacySinks, type LegacySinks } from "../egress/legacy-sinks.js";
import type { Logger } from "../logger.js";
import type { Bus } from "../pipeline/bus.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import { loadMappingFile } from "../pipeline/mapping/mapping-file.js";
import type { SampleRing } from "../pipeline/mapping/samples.js";
import type { SandboxPool } from "../pipeline/mapping/sandbox/pool.js";
import type { ShadowLog } from "../pipeline/mapping/shadow.js";
import { createLocalLocks, createPgAdvisoryLocks } from "../scheduler/locks.js";
import { createRunReporter, type RunReporter } from "../scheduler/run-reporter.js";
import { createScheduler, type RunRecord, type Scheduler } from "../scheduler/scheduler.js";
import type { Store } from "../store/types.js";
import { createRowMappers } from "../ingress/legacy/jsonata-row-mapper.js";
import { loadLegacyFile } from "../ingress/legacy/file.js";
import { createLegacyRunner, type LegacyRunner } from "../ingress/legacy/runner.js";
import type { ReconcileAnswer } from "../ingress/legacy/reconcile.js";

export interface LegacyServiceOptions {
  config: Config;
  store: Store;
  ingestor: Ingestor;
  check: EventChecker;
  /** The mapping engine's sandbox (JSONata mappings of schedules). */
  pool: SandboxPool;
  logger: Logger;
  bus: Bus;
  /** Sinks of releases, handed to odoo-link as `extraSinks`. */
  sinks: LegacySinks;
  /** Odoo, for run history and reconciliation; undefined offline. */
  odoo?: OdooClient;
  /** The mapping engine's recent samples: mapped rows are kept there too, per connector. */
  samples?: SampleRing;
  /** The mapping engine's shadow log: shadow versions of a schedule's mapping compared there. */
  shadow?: ShadowLog;
}

export interface LegacyService {
  scheduler: Scheduler;
  runner: LegacyRunner;
  reporter: RunReporter;
  /** Loads the PLANT_BRIDGE_LEGACY file and starts reporting. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Empty runs (nothing read, nothing failed) reported per schedule at most this often. */
export const EMPTY_RUN_REPORT_MS = 10 * 60_000;

export function createLegacySinksFor(config: Config, logger: Logger): LegacySinks {
  return createLegacySinks({
    logger,
    roots: config.legacy.roots,
    outbound: { allowLoopback: config.legacy.allowLoopback },
  });
}

export function createLegacyService(options: LegacyServiceOptions): LegacyService {
  const { config, store, logger, odoo } = options;
  const locks =
    store.kind === "postgres"
      ? createPgAdvisoryLocks({ connectionString: config.store, logger })
      : createLocalLocks();
  const reporter = createRunReporter({
    store,
    sidecar: config.name,
    logger,
    ...(odoo && {
      send: async (site: string, runs: RunRecord[]) => {
        await odoo.call("plant_bridge.api", "report_runs", {
          site,
          runs: runs.map((r) => ({
            key: r.key,
            schedule_id: r.scheduleId,
            started_at: r.startedAt,
            ended_at: r.endedAt,
            state: r.state,
            rows: r.rows,
            accepted: r.accepted,
            duplicates: r.duplicates,
            rejected: r.rejected,
            skipped: r.skipped,
            message: r.message,
            sidecar: config.name,
            ...(r.code && { code: r.code }),
          })),
        });
      },
    }),
  });
  // Runs of the local file's schedules have no schedule in Odoo: they are only logged. A run
  // that found nothing is reported at most every EMPTY_RUN_REPORT_MS per schedule, so a schedule
  // of every few seconds does not fill Odoo with empty runs.
  const lastEmpty = new Map<string, number>();
  const record = (r: RunRecord) => {
    if (r.jobId.startsWith("file:")) return;
    const empty = r.state === "done" && r.rows + r.rejected + r.skipped === 0;
    if (empty) {
      const at = Date.parse(r.endedAt);
      if (at - (lastEmpty.get(r.jobId) ?? -Infinity) < EMPTY_RUN_REPORT_MS) return;
      lastEmpty.set(r.jobId, at);
    }
    void reporter.record(r).catch(() => undefined);
  };
  const scheduler = createScheduler({ locks, logger, onRun: record });
  const odooMappers = createRowMappers({
    pool: options.pool,
    check: options.check,
    origin: "odoo",
    ...(options.samples && { samples: options.samples }),
    ...(options.shadow && { shadow: options.shadow }),
  });
  const fileMappers = createRowMappers({
    pool: options.pool,
    check: options.check,
    origin: "file",
    ...(options.samples && { samples: options.samples }),
    ...(options.shadow && { shadow: options.shadow }),
  });
  const fileMappings = new Set<MappingConfig>();
  const runner = createLegacyRunner({
    store,
    ingestor: options.ingestor,
    check: options.check,
    scheduler,
    logger,
    roots: config.legacy.roots,
    outbound: { allowLoopback: config.legacy.allowLoopback },
    mapper: (site, mapping, context) =>
      (fileMappings.has(mapping) ? fileMappers : odooMappers)(site, mapping, context),
    onProblem: record,
    ...(options.samples && { samples: options.samples }),
    ...(config.legacy.pauseAfterReadMs > 0 && { pauseAfterReadMs: config.legacy.pauseAfterReadMs }),
    ...(odoo && {
      reconcile: (site, request) =>
        odoo.call<ReconcileAnswer>("plant_bridge.api", "reconcile", {
          site,
          key: request.key,
          lines: request.lines,
          source: request.source,
          sidecar: config.name,
        }),
    }),
  });

  const onConfig = (siteConfig: SiteConfig) => {
    const timezone = siteConfig.site_info?.timezone || "UTC";
    void runner
      .apply(
        {
          site: siteConfig.site,
          timezone,
          connectors: siteConfig.connectors ?? [],
          schedules: siteConfig.schedules ?? [],
          mappings: siteConfig.mappings ?? [],
        },
        `odoo:${siteConfig.site}`,
      )
      .catch((err: unknown) => logger.error({ err }, "legacy schedules not applied"));
    void options.sinks
      .update(siteConfig.site, siteConfig.connectors ?? [], timezone, "odoo")
      .catch((err: unknown) => logger.error({ err }, "legacy sinks not applied"));
  };
  options.bus.on("configChanged", onConfig);

  return {
    scheduler,
    runner,
    reporter,
    async start() {
      reporter.start();
      if (!config.legacy.file) return;
      const sites = loadLegacyFile(config.legacy.file, config.site);
      const mappingsBySite = config.mapping.file
        ? loadMappingFile(config.mapping.file, config.site).mappings
        : new Map<string, MappingConfig[]>();
      for (const [site, siteConfig] of sites) {
        const mappings = mappingsBySite.get(site) ?? [];
        for (const m of mappings) fileMappings.add(m);
        await runner.apply({ ...siteConfig, mappings }, `file:${site}`);
        await options.sinks.update(site, siteConfig.connectors, siteConfig.timezone);
      }
    },
    async close() {
      options.bus.off("configChanged", onConfig);
      await runner.stop();
      await reporter.stop();
    },
  };
}

/** Builds the legacy feature with the mapping feature's sandbox, samples and shadow log, and starts it. */
export async function startLegacy(
  options: Omit<LegacyServiceOptions, "pool" | "samples" | "shadow"> & {
    mapping: { pool: SandboxPool; samples: SampleRing; shadow: ShadowLog };
  },
): Promise<LegacyService> {
  const { mapping, ...rest } = options;
  // Mapped rows are samples and run their mapping's shadow versions, like messages.
  const legacy = createLegacyService({
    ...rest,
    pool: mapping.pool,
    samples: mapping.samples,
    shadow: mapping.shadow,
  });
  await legacy.start();
  return legacy;
}
