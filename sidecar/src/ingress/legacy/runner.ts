/**
 * Scheduled legacy pulls of every site: from a site's configuration (Odoo's `get_config`, or the
 * local PLANT_BRIDGE_LEGACY file) it builds one scheduler job per active schedule of a source
 * connector (`file_drop`, `sql_source`, `http_source`). A job runs its source with the row mapper
 * of the schedule's mapping (the canonical-rows mapper without one), or, for a connector whose
 * `purpose` is `reconciliation`, sends the legacy totals to Odoo. A schedule that cannot run (bad
 * cron, unknown connector) is reported as a failed run, so it shows in Odoo.
 */
import type { LegacySiteConfig } from "../../contracts/site-config.js";
import type { EventChecker } from "../../contracts/checkers.js";
import type {
  ConnectorConfig,
  MappingConfig,
  ScheduleConfig,
} from "../../contracts/site-config.js";
import { createHash } from "node:crypto";
import type { OutboundPolicy } from "../../connectors/outbound-http.js";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import type { SampleRing } from "../../pipeline/mapping/samples.js";
import { checkTiming } from "../../scheduler/cron.js";
import type { RunRecord, ScheduledJob, Scheduler } from "../../scheduler/scheduler.js";
import type { Store } from "../../store/types.js";
import { fileDropParams, httpSourceParams, sqlSourceParams } from "../../connectors/params.js";
import { createFileDropSource } from "./file-drop/file-source.js";
import { requireRoots } from "../../connectors/folder.js";
import { createHttpSource } from "./http/http-source.js";
import type { LegacySource, PullContext, PullStats } from "./pull.js";
import {
  fileReconcileReader,
  runReconciliation,
  sqlReconcileReader,
  type Reconcile,
  type ReconcileReader,
} from "./reconcile.js";
import { createCanonicalRowMapper, guardRowMapper, type RowMapper } from "./rows.js";
import { openSqlClient } from "../../connectors/sql-client.js";
import { createSqlSource } from "./sql/sql-source.js";

export interface RowMapperContext {
  connector: ConnectorConfig;
  mappings: readonly MappingConfig[];
}

export interface LegacyRunnerOptions {
  store: Store;
  ingestor: Ingestor;
  check: EventChecker;
  scheduler: Scheduler;
  logger: Logger;
  /** Folders of file connectors are relative to this. @default process.cwd() */
  baseDir?: string;
  /** When not empty, file connectors' folders must be inside one of these. */
  roots?: string[];
  /** HTTP connectors: which addresses they may reach (PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK). @default no loopback */
  outbound?: OutboundPolicy;
  /**
   * The row mapper of a mapping (JSONata, issue 5's engine), or undefined when that mapping is
   * not active on the site. `context`: the schedule's connector (samples of its rows) and the
   * site's mappings (shadow versions of the same mapping are compared beside it).
   * @default none: a schedule with a mapping fails with a config error
   */
  mapper?: (
    site: string,
    mapping: MappingConfig,
    context: RowMapperContext,
  ) => RowMapper | undefined;
  /** Odoo's reconciliation call; undefined without Odoo. */
  reconcile?: Reconcile;
  /** Records runs that never started (a schedule that cannot run). */
  onProblem?: (record: RunRecord) => void;
  /** Test hook: pause this long after rows are read, before they are committed. */
  pauseAfterReadMs?: number;
  /**
   * Where rows read without a mapping are kept as samples of their connector (a mapped row is
   * kept by its mapping's mapper), so the Mapping Studio shows a connector's rows before its
   * first mapping exists.
   */
  samples?: SampleRing;
}

export interface LegacyRunner {
  /**
   * Replaces the schedules of one scope: `odoo:<site>` (Odoo's configuration) or `file:<site>`
   * (the PLANT_BRIDGE_LEGACY file). Job ids (and lock names) are `<scope>/schedule/<id>`, the
   * same on every sidecar, so one of them runs each schedule.
   */
  apply(config: LegacySiteConfig, scope?: string): Promise<void>;
  stop(): Promise<void>;
}

const SOURCE_KINDS = new Set(["file_drop", "sql_source", "http_source"]);

interface Built {
  fingerprint: string;
  run: (ctx: PullContext) => Promise<PullStats>;
  close: () => Promise<void>;
}

export function createLegacyRunner(options: LegacyRunnerOptions): LegacyRunner {
  const { scheduler, logger } = options;
  const jobsByScope = new Map<string, ScheduledJob[]>();
  const built = new Map<string, Built>();
  const reported = new Set<string>();

  function problem(
    scope: string,
    site: string,
    schedule: ScheduleConfig,
    message: string,
    fingerprint: string,
  ) {
    logger.warn({ site, schedule: schedule.name, problem: message }, "schedule cannot run");
    if (reported.has(fingerprint)) return;
    reported.add(fingerprint);
    const at = new Date().toISOString();
    options.onProblem?.({
      key: `problem-${fingerprint.slice(0, 32)}`,
      jobId: `${scope}/schedule/${schedule.id}`,
      site,
      scheduleId: schedule.id,
      schedule: schedule.name,
      startedAt: at,
      endedAt: at,
      state: "failed",
      rows: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      skipped: 0,
      message,
      code: "config",
    });
  }

  function build(
    site: LegacySiteConfig,
    connector: ConnectorConfig,
    fingerprint: string,
    scope: string,
  ): Built {
    const purpose = (connector.params as { purpose?: unknown }).purpose;
    const reconciliation = purpose === "reconciliation";
    let source: LegacySource | undefined;
    let reader: ReconcileReader | undefined;
    let eventType: string | undefined;
    switch (connector.kind) {
      case "file_drop": {
        if (scope.startsWith("odoo:"))
          requireRoots(options.roots ?? [], `file drop ${connector.name}`);
        const p = fileDropParams(connector.params, {
          baseDir: options.baseDir ?? process.cwd(),
          roots: options.roots ?? [],
        });
        eventType = p.eventType;
        const patterns = Array.isArray(p.pattern) ? p.pattern : [p.pattern];
        const common = {
          dir: p.dir,
          archiveDir: p.archiveDir,
          patterns,
          format: p.fileFormat,
          ...(p.encoding && { encoding: p.encoding }),
          stableMs: p.stableSeconds * 1000,
          maxFileBytes: p.maxFileMb * 1024 * 1024,
        };
        if (reconciliation) reader = fileReconcileReader(common);
        else
          source = createFileDropSource({
            ...common,
            connectorId: connector.id,
            errorDir: p.errorDir,
            maxFiles: p.maxFiles,
            chunkRows: p.chunkRows,
            store: options.store,
          });
        break;
      }
      case "sql_source": {
        const p = sqlSourceParams(connector.params, connector.secrets);
        eventType = p.eventType;
        const client = openSqlClient(p.connection);
        if (reconciliation) reader = sqlReconcileReader(client, p.query, p.maxRowsPerRun);
        else
          source = createSqlSource({
            connectorId: connector.id,
            client,
            query: p.query,
            watermarkColumn: p.watermarkColumn,
            keyColumn: p.keyColumn,
            table: p.table ?? connector.name,
            batchSize: p.batchSize,
            maxRowsPerRun: p.maxRowsPerRun,
            ...(p.initialWatermark !== undefined && { initialWatermark: p.initialWatermark }),
            store: options.store,
          });
        break;
      }
      case "http_source": {
        const p = httpSourceParams(connector.params, connector.secrets);
        if (reconciliation)
          throw new ConfigError("config", "reconciliation reads SQL or files, not HTTP");
        eventType = p.eventType;
        source = createHttpSource({
          connectorId: connector.id,
          name: p.name ?? connector.name,
          url: p.url,
          headers: { ...p.headers, ...p.authHeaders },
          itemsPath: p.itemsPath,
          keyField: p.keyField,
          ...(p.since && { since: p.since }),
          paging: p.paging,
          etag: p.etag,
          maxPages: p.maxPages,
          timeoutMs: p.timeoutSeconds * 1000,
          ...(options.outbound && { outbound: options.outbound }),
          maxBytes: p.maxMb * 1024 * 1024,
          store: options.store,
        });
        break;
      }
      default:
        throw new ConfigError("config", `connector kind ${connector.kind} is not a source`);
    }
    const canonical = sampledRows(
      createCanonicalRowMapper({
        check: options.check,
        ...(eventType && { eventType: eventType as never }),
      }),
      connector,
      options.samples,
    );
    return {
      fingerprint,
      run: (ctx) =>
        reader
          ? runReconciliation({
              site: site.site,
              timezone: ctx.timezone,
              source: connector.name,
              reader,
              reconcile: options.reconcile,
              logger,
            })
          : source!.run({
              ...ctx,
              mapper: guardRowMapper(ctx.mapper === placeholderMapper ? canonical : ctx.mapper),
            }),
      close: async () => {
        await source?.close();
        await reader?.close();
      },
    };
  }

  function mapperOf(
    site: LegacySiteConfig,
    schedule: ScheduleConfig,
    connector: ConnectorConfig,
  ): RowMapper {
    if (!schedule.mapping_id) return placeholderMapper;
    const mapping = site.mappings.find((m) => m.id === schedule.mapping_id);
    const mapper =
      mapping && options.mapper?.(site.site, mapping, { connector, mappings: site.mappings });
    if (!mapper)
      throw new ConfigError(
        "config",
        `mapping ${schedule.mapping_id} of schedule ${JSON.stringify(schedule.name)} is not an active mapping of the site`,
      );
    return mapper;
  }

  function jobOf(
    site: LegacySiteConfig,
    schedule: ScheduleConfig,
    scope: string,
  ): ScheduledJob | undefined {
    const connector = site.connectors.find((c) => c.id === schedule.connector_id);
    const timezone = schedule.timezone || site.timezone || "UTC";
    const fingerprint = createHash("sha256")
      .update(JSON.stringify({ site: site.site, schedule, connector, timezone }))
      .digest("hex");
    if (!connector)
      return void problem(scope, site.site, schedule, "its connector is missing", fingerprint);
    if (!connector.active) return undefined;
    if (!SOURCE_KINDS.has(connector.kind))
      return void problem(
        scope,
        site.site,
        schedule,
        `connector kind ${connector.kind} is not a legacy source`,
        fingerprint,
      );
    const timing = checkTiming(schedule.cron, timezone);
    if (timing) return void problem(scope, site.site, schedule, timing, fingerprint);
    const id = `${scope}/schedule/${schedule.id}`;
    return {
      id,
      site: site.site,
      scheduleId: schedule.id,
      name: schedule.name,
      cron: schedule.cron,
      timezone,
      fingerprint,
      run: async (signal) => {
        const mapper = mapperOf(site, schedule, connector);
        let b = built.get(id);
        if (!b || b.fingerprint !== fingerprint) {
          await b?.close().catch(() => undefined);
          built.delete(id);
          b = build(site, connector, fingerprint, scope);
          built.set(id, b);
        }
        return b.run({
          site: site.site,
          timezone,
          ingestor: options.ingestor,
          mapper,
          logger,
          signal,
          ...(options.pauseAfterReadMs && { afterRead: pause(options.pauseAfterReadMs, logger) }),
        });
      },
    };
  }

  async function closeStale() {
    const live = new Set([...jobsByScope.values()].flat().map((j) => `${j.id}\0${j.fingerprint}`));
    for (const [id, b] of built)
      if (!live.has(`${id}\0${b.fingerprint}`)) {
        built.delete(id);
        await b.close().catch(() => undefined);
      }
  }

  return {
    async apply(config, scope = config.site) {
      const jobs = config.schedules
        .filter((s) => s.active)
        .map((s) => jobOf(config, s, scope))
        .filter((j): j is ScheduledJob => j !== undefined);
      jobsByScope.set(scope, jobs);
      await scheduler.set([...jobsByScope.values()].flat());
      await closeStale();
    },
    async stop() {
      await scheduler.stop();
      for (const b of built.values()) await b.close().catch(() => undefined);
      built.clear();
    },
  };
}

/** Keeps each row as a sample of its connector, then maps it. */
function sampledRows(
  mapper: RowMapper,
  connector: ConnectorConfig,
  samples: SampleRing | undefined,
): RowMapper {
  if (!samples) return mapper;
  return (row, ctx) => {
    if (ctx.source === "file" || ctx.source === "sql" || ctx.source === "http") {
      const payload = Buffer.from(
        JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
      );
      samples.record(ctx.origin, payload, ctx.receivedAt, {
        row: {
          source: ctx.source,
          site: ctx.site,
          connectorId: connector.id,
          connector: connector.name,
        },
      });
    }
    return mapper(row, ctx);
  };
}

/** Stands for "no mapping": the built source then uses its canonical-rows mapper. */
const placeholderMapper: RowMapper = async () => [];

function pause(ms: number, logger: Logger): PullContext["afterRead"] {
  return async (what) => {
    logger.warn({ what, ms }, "legacy test hook: rows read, pausing before the commit");
    await new Promise((r) => setTimeout(r, ms));
  };
}
