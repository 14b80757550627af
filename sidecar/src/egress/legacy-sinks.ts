/**
 * The legacy sinks of each site, built from its active connectors of kind `sink_file`,
 * `sink_sql` and `sink_http` (odoo-link's `extraSinks`), each wrapped with retries, backoff and
 * a circuit breaker. Rebuilt when the site's configuration changes; the SQL pools of replaced
 * sinks are closed. `sink_mqtt` needs nothing here: every release already goes to the site's MQTT
 * command topic (mqtt-command-sink.ts). A sink connector that does not check out is replaced by a
 * sink whose deliveries fail with the reason, so the release is acknowledged `failed` in Odoo
 * with it instead of silently skipping a system.
 */
import type { OutboundSink } from "../contracts/outbound.js";
import type { ConnectorConfig } from "../contracts/site-config.js";
import type { OutboundPolicy } from "../connectors/outbound-http.js";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import {
  authHeaders,
  HTTP_HEADERS,
  parseParams,
  sqlConnection,
  SQL_CONNECTION,
} from "../connectors/params.js";
import { confineFolder, requireRoots } from "../connectors/folder.js";
import { openSqlClient, type SqlClient } from "../connectors/sql-client.js";
import type { Logger } from "../logger.js";
import { createFileSink } from "./file-sink.js";
import { createHttpSink } from "./http-sink.js";
import { withResilience, type ResilienceOptions } from "./resilient-sink.js";
import { createSqlSink } from "./sql-sink.js";

const HEADER_FIELDS = [
  "release_id",
  "outbound_id",
  "type",
  "site",
  "order",
  "product",
  "quantity",
  "uom",
  "due",
  "start",
  "state",
  "remaining",
  "priority",
  "origin",
  "produced",
  "backorder",
  "backorder_of",
  "payload",
] as const;
const LINE_FIELDS = [
  "release_id",
  "line",
  "product",
  "quantity",
  "uom",
  "lots",
  "operation",
  "reserved",
] as const;
const retries = {
  attempts: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe("Deliveries tried before the release is reported failed (transient failures only)."),
  backoffMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(500)
    .describe("First wait between attempts, in milliseconds (doubled each time, with jitter)."),
};
const fileParams = z
  .object({
    path: z.string().min(1).describe("Folder the release files are written to."),
    format: z
      .enum(["csv", "xml"])
      .default("csv")
      .describe("CSV (one line per component) or XML (the whole release)."),
    encoding: z.string().default("utf-8").describe("Encoding of the files, e.g. utf-8, latin1."),
    delimiter: z
      .string()
      .min(1)
      .max(4)
      .default(";")
      .describe("CSV field separator, e.g. ; or \\t for a tab."),
    header: z.boolean().default(true).describe("The first CSV line names the columns."),
    prefix: z.string().max(50).default("").describe("Put before each file name, e.g. REL_."),
    ...retries,
  })
  .strict();
const sqlParams = z
  .object({
    ...SQL_CONNECTION,
    table: z
      .string()
      .min(1)
      .describe("Table of the releases (its key column needs a unique index for upsert)."),
    mode: z
      .enum(["upsert", "insert"])
      .default("upsert")
      .describe("upsert: a change or cancel updates the release's row; insert: one row each."),
    columns: z.partialRecord(z.enum(HEADER_FIELDS), z.string()).optional(),
    linesTable: z
      .string()
      .min(1)
      .optional()
      .describe("Table of the components, one row per line (empty: none)."),
    lineColumns: z.partialRecord(z.enum(LINE_FIELDS), z.string()).optional(),
    timestamps: z
      .enum(["iso", "local", "utc"])
      .optional()
      .describe("Dates as ISO text with offset, local time of the site, or UTC."),
    ...retries,
  })
  .strict();
const httpParams = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .describe("Endpoint each release is POSTed to (http:// or https://)."),
    headers: HTTP_HEADERS.default({}),
    timeoutSeconds: z
      .number()
      .min(1)
      .max(600)
      .default(30)
      .describe("A delivery without an answer after this long is retried."),
    ...retries,
  })
  .strict();

/**
 * The parameters of each legacy sink kind, as the sidecar checks them: with the sources', the
 * source of the JSON Schema Odoo's typed connector forms validate with (`npm run schema:connectors`).
 */
export const SINK_PARAMS = {
  sink_file: fileParams,
  sink_sql: sqlParams,
  sink_http: httpParams,
} as const;

export interface LegacySinksOptions {
  logger: Logger;
  /** Sink folders are relative to this. @default process.cwd() */
  baseDir?: string;
  /** When not empty, sink folders must be inside one of these. */
  roots?: string[];
  /** HTTP connectors: which addresses they may reach (PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK). @default no loopback */
  outbound?: OutboundPolicy;
  /** Overrides of the retry policy (tests). */
  resilience?: Omit<ResilienceOptions, "attempts" | "initialDelayMs" | "logger">;
}

export interface LegacySinks {
  /**
   * Rebuilds a site's sinks from its connectors (and time zone, for naive SQL timestamps).
   * `origin` "odoo": configured in Odoo, so file sinks need PLANT_BRIDGE_LEGACY_ROOTS
   * (`roots_required`); "file": the local PLANT_BRIDGE_LEGACY file. @default "file"
   */
  update(
    site: string,
    connectors: ConnectorConfig[],
    timezone: string,
    origin?: "odoo" | "file",
  ): Promise<void>;
  sinks(site: string): OutboundSink[];
  close(): Promise<void>;
}

export function createLegacySinks(options: LegacySinksOptions): LegacySinks {
  const { logger } = options;
  const bySite = new Map<
    string,
    { fingerprint: string; sinks: OutboundSink[]; clients: SqlClient[] }
  >();

  function build(
    c: ConnectorConfig,
    timezone: string,
    clients: SqlClient[],
    origin: "odoo" | "file",
  ): OutboundSink | undefined {
    const resilience = (p: { attempts: number; backoffMs: number }): ResilienceOptions => ({
      ...options.resilience,
      attempts: p.attempts,
      initialDelayMs: p.backoffMs,
      logger,
    });
    switch (c.kind) {
      case "sink_file": {
        if (origin === "odoo") requireRoots(options.roots ?? [], `file sink ${c.name}`);
        const p = parseParams(fileParams, c.params, `file sink ${c.name}`);
        let dir: string;
        try {
          dir = confineFolder(p.path, options.baseDir ?? process.cwd(), options.roots ?? []);
        } catch (err) {
          throw new ConfigError("config", `file sink ${c.name}: ${(err as Error).message}`);
        }
        return withResilience(
          createFileSink({
            dir,
            format: p.format,
            encoding: p.encoding,
            delimiter: p.delimiter === "\\t" ? "\t" : p.delimiter,
            header: p.header,
            prefix: p.prefix,
          }),
          resilience(p),
        );
      }
      case "sink_sql": {
        const p = parseParams(sqlParams, c.params, `SQL sink ${c.name}`);
        const client = openSqlClient(sqlConnection(p, c.secrets, `SQL sink ${c.name}`));
        clients.push(client);
        return withResilience(
          createSqlSink({
            client,
            table: p.table,
            mode: p.mode,
            ...(p.columns && { columns: p.columns }),
            ...(p.linesTable && { linesTable: p.linesTable }),
            ...(p.lineColumns && { lineColumns: p.lineColumns }),
            ...(p.timestamps && { timestamps: p.timestamps }),
            timezone,
          }),
          resilience(p),
        );
      }
      case "sink_http": {
        const p = parseParams(httpParams, c.params, `HTTP sink ${c.name}`);
        return withResilience(
          createHttpSink({
            url: p.url,
            headers: { ...p.headers, ...authHeaders(c.secrets, `HTTP sink ${c.name}`) },
            timeoutMs: p.timeoutSeconds * 1000,
            ...(options.outbound && { outbound: options.outbound }),
          }),
          resilience(p),
        );
      }
      default:
        return undefined;
    }
  }

  return {
    async update(site, connectors, timezone, origin = "file") {
      const relevant = connectors.filter(
        (c) => c.active && c.kind.startsWith("sink_") && c.kind !== "sink_mqtt",
      );
      const fingerprint = JSON.stringify([timezone, origin, relevant]);
      const old = bySite.get(site);
      if (old?.fingerprint === fingerprint) return;
      const clients: SqlClient[] = [];
      const sinks: OutboundSink[] = [];
      for (const c of relevant) {
        try {
          const sink = build(c, timezone, clients, origin);
          if (sink) sinks.push(sink);
        } catch (err) {
          const message = (err as Error).message;
          const code = err instanceof ConfigError ? err.code : "config";
          logger.warn({ site, connector: c.name, problem: message }, "legacy sink cannot be used");
          sinks.push({
            name: `${c.kind}:${c.name}`,
            deliver: () => Promise.reject(new ConfigError(code, message)),
          });
        }
      }
      bySite.set(site, { fingerprint, sinks, clients });
      logger.info({ site, sinks: sinks.map((s) => s.name) }, "legacy sinks configured");
      for (const client of old?.clients ?? []) await client.close().catch(() => undefined);
    },
    sinks: (site) => bySite.get(site)?.sinks ?? [],
    async close() {
      for (const { clients } of bySite.values())
        for (const client of clients) await client.close().catch(() => undefined);
      bySite.clear();
    },
  };
}
