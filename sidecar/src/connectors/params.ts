/**
 * Connector parameters of legacy sources, as configured in Odoo (`params`, `secrets` of
 * `plant_bridge.connector`, docs in README "Legacy systems") or in the local
 * `PLANT_BRIDGE_LEGACY` file. Checked here once per configuration revision; a connector that does
 * not check out makes its schedule's runs fail with a `config` error that names the parameter —
 * never the value of a secret.
 */
import type { FileFormat, HttpPaging } from "../contracts/connector-params.js";
import { join } from "node:path";
import iconv from "iconv-lite";
import { z } from "zod";
import { EVENT_TYPES } from "../canonical/schema.js";
import { ConfigError } from "../errors.js";
import { confineFolder } from "./folder.js";
import type { SqlConnection } from "./sql-client.js";

const purpose = z.enum(["events", "reconciliation"]).default("events");
const eventType = z.enum(EVENT_TYPES).optional();
const encoding = z
  .string()
  .refine(
    (e) => iconv.encodingExists(e),
    "an encoding iconv-lite knows (utf-8, latin1, windows-1252, cp850...)",
  )
  .optional();
const columnName = z.string().min(1).max(128);

/**
 * Extra HTTP headers of a connector: names are HTTP tokens (RFC 9110), values one line, so that a
 * value can never smuggle a header of its own; fetch would refuse them only at the first request.
 */
export const HTTP_HEADERS = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "an HTTP header name (letters, digits, -)"),
  z.string().regex(/^[^\r\n]*$/, "one line"),
);

const fileParams = z
  .object({
    path: z.string().min(1).optional().describe("Folder the legacy system writes its files to."),
    /** Another name of `path`. */
    directory: z.string().min(1).optional(),
    pattern: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .default("*")
      .describe("File names to read: a glob such as *.csv (or a list of globs)."),
    format: z.enum(["csv", "fixed", "xml"]).default("csv").describe("CSV, fixed width or XML."),
    encoding,
    delimiter: z
      .string()
      .min(1)
      .max(4)
      .default(",")
      .describe("CSV field separator, e.g. ; or \\t for a tab."),
    quote: z.string().length(1).default('"'),
    header: z.boolean().default(true).describe("The first CSV line names the columns."),
    columns: z
      .array(
        z.union([
          columnName,
          z.object({
            name: columnName,
            start: z.number().int().min(1),
            length: z.number().int().min(1),
          }),
        ]),
      )
      .optional(),
    skipLines: z.number().int().min(0).max(1000).default(0),
    trim: z.boolean().default(true),
    recordPath: z
      .string()
      .regex(/^[^.\s]+(\.[^.\s]+)*$/, "a dotted element path")
      .optional(),
    archivePath: z
      .string()
      .min(1)
      .optional()
      .describe("Where read files are moved (default: <path>/archive)."),
    errorPath: z
      .string()
      .min(1)
      .optional()
      .describe("Where unreadable files are moved (default: <path>/error)."),
    stableSeconds: z
      .number()
      .min(0)
      .max(86_400)
      .default(2)
      .describe("A file is read once unchanged for this long (half-written files are skipped)."),
    maxFileMb: z.number().min(1).max(4096).default(256),
    maxFiles: z.number().int().min(1).max(100_000).default(100),
    chunkRows: z.number().int().min(1).max(10_000).default(500),
    eventType,
    purpose,
  })
  .strict();

/** How a SQL connector reaches its database (sources, sinks and Test Connection alike). */
export const SQL_CONNECTION = {
  driver: z.enum(["postgres", "postgresql", "mysql", "mariadb"]),
  url: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
};
const secretsSchema = z
  .object({
    url: z.string().min(1).optional(),
    password: z.string().optional(),
    user: z.string().optional(),
    bearer: z.string().optional(),
    username: z.string().optional(),
    headers: HTTP_HEADERS.optional(),
  })
  .passthrough();

const sqlParams = z
  .object({
    ...SQL_CONNECTION,
    query: z
      .string()
      .min(1)
      .max(100_000)
      .describe("One SELECT statement (no ;), run in a read-only transaction."),
    watermarkColumn: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Column that grows in commit order (an identity, a commit time): rows above the last one read are new.",
      ),
    keyColumn: z
      .string()
      .min(1)
      .optional()
      .describe("Column that identifies a row (its idempotency key)."),
    table: z.string().min(1).max(64).optional(),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(50_000)
      .default(1000)
      .describe("Rows read and committed together."),
    maxRowsPerRun: z.number().int().min(1).max(10_000_000).default(100_000),
    initialWatermark: z.union([z.string(), z.number()]).optional(),
    eventType,
    purpose,
  })
  .strict();

const httpParams = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    headers: HTTP_HEADERS.default({}),
    itemsPath: z
      .string()
      .default("items")
      .describe("Where the items are in the JSON answer (dotted path)."),
    keyField: z.string().min(1).default("id").describe("Field of an item that identifies it."),
    since: z
      .object({ param: z.string().min(1), field: z.string().min(1) })
      .strict()
      .optional(),
    paging: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("none") }).strict(),
        z
          .object({
            kind: z.literal("page"),
            param: z.string().min(1).default("page"),
            start: z.number().int().min(0).default(1),
            sizeParam: z.string().min(1).optional(),
            size: z.number().int().min(1).optional(),
          })
          .strict(),
        z
          .object({
            kind: z.literal("cursor"),
            param: z.string().min(1).default("cursor"),
            nextPath: z.string().min(1),
          })
          .strict(),
        z.object({ kind: z.literal("link"), nextPath: z.string().min(1) }).strict(),
      ])
      .default({ kind: "none" }),
    etag: z
      .boolean()
      .default(true)
      .describe("Send the last ETag (If-None-Match): nothing new is a 304."),
    maxPages: z.number().int().min(1).max(10_000).default(100),
    timeoutSeconds: z.number().min(1).max(600).default(30),
    maxMb: z.number().min(1).max(1024).default(16),
    name: z.string().min(1).max(64).optional(),
    eventType,
    purpose,
  })
  .strict();

/**
 * The parameters of each legacy source kind, as the sidecar checks them: the one source of the
 * JSON Schema that Odoo's typed connector forms validate with
 * (`odoo_addon/plant_bridge/data/connector_params.schema.json`, `npm run schema:connectors`).
 */
export const CONNECTOR_PARAMS = {
  file_drop: fileParams,
  sql_source: sqlParams,
  http_source: httpParams,
} as const;
export const CONNECTOR_SECRETS = secretsSchema;

export type FileDropParams = z.output<typeof fileParams> & {
  dir: string;
  archiveDir: string;
  errorDir: string;
  fileFormat: FileFormat;
};
export type SqlSourceParams = z.output<typeof sqlParams> & {
  connection: SqlConnection;
  watermarkColumn: string;
  keyColumn: string;
};
export type HttpSourceParams = z.output<typeof httpParams> & {
  authHeaders: Record<string, string>;
  paging: HttpPaging;
};

/**
 * Checks connector parameters (or secrets) against their schema; the first problem becomes a
 * `config` error naming the parameter, never its value.
 */
export function parseParams<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
  toError: (message: string) => Error = (message) => new ConfigError("config", message),
): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw toError(`${what}: ${issue.path.join(".") || "parameters"}: ${issue.message}`);
}

/** File drop parameters with its folders resolved against `baseDir` and confined to `roots`. */
export function fileDropParams(
  params: unknown,
  base: { baseDir: string; roots: string[] },
): FileDropParams {
  const p = parseParams(fileParams, params, "file drop");
  const folder = p.path ?? p.directory;
  if (!folder) throw new ConfigError("config", "file drop: path: the folder to read is required");
  const confine = (folder: string) => {
    try {
      return confineFolder(folder, base.baseDir, base.roots);
    } catch (err) {
      throw new ConfigError("config", `file drop: ${(err as Error).message}`);
    }
  };
  const dir = confine(folder);
  let fileFormat: FileFormat;
  if (p.format === "csv") {
    const names = p.columns?.map((c) => (typeof c === "string" ? c : c.name));
    fileFormat = {
      format: "csv",
      delimiter: p.delimiter === "\\t" ? "\t" : p.delimiter,
      quote: p.quote,
      header: p.header,
      skipLines: p.skipLines,
      trim: p.trim,
      ...(names && { columns: names }),
    };
    if (!p.header && !names)
      throw new ConfigError("config", "file drop: columns: required when header is false");
  } else if (p.format === "fixed") {
    const columns = (p.columns ?? []).filter((c) => typeof c !== "string");
    if (!columns.length || columns.length !== p.columns?.length)
      throw new ConfigError(
        "config",
        "file drop: columns: fixed width needs [{name, start, length}, ...]",
      );
    fileFormat = { format: "fixed", columns, skipLines: p.skipLines, trim: p.trim };
  } else {
    if (!p.recordPath) throw new ConfigError("config", "file drop: recordPath: required for XML");
    fileFormat = { format: "xml", recordPath: p.recordPath };
  }
  return {
    ...p,
    dir,
    archiveDir: p.archivePath ? confine(p.archivePath) : join(dir, "archive"),
    errorDir: p.errorPath ? confine(p.errorPath) : join(dir, "error"),
    fileFormat,
  };
}

export function sqlSourceParams(params: unknown, secrets: unknown): SqlSourceParams {
  const p = parseParams(sqlParams, params, "SQL source");
  if (p.purpose === "events" && (!p.watermarkColumn || !p.keyColumn))
    throw new ConfigError("config", "SQL source: watermarkColumn and keyColumn are required");
  return {
    ...p,
    watermarkColumn: p.watermarkColumn ?? "",
    keyColumn: p.keyColumn ?? "",
    connection: sqlConnection(p, secrets, "SQL source"),
  };
}

/** A database connection from non-secret parameters and the connector's secrets. */
export function sqlConnection(
  p: {
    driver: string;
    url?: string;
    host?: string;
    port?: number;
    database?: string;
    user?: string;
  },
  secrets: unknown,
  what: string,
): SqlConnection {
  const s = parseParams(secretsSchema, secrets, `${what} secrets`);
  const driver = p.driver === "postgres" || p.driver === "postgresql" ? "postgres" : "mysql";
  const url = s.url ?? p.url;
  if (p.url && /\/\/[^/@]*:[^/@]*@/.test(p.url))
    throw new ConfigError(
      "config",
      `${what}: url: put the password in the connector's secrets, not its parameters`,
    );
  if (!url && !p.host) throw new ConfigError("config", `${what}: url or host is required`);
  return {
    driver,
    ...(url && { url }),
    ...(p.host && { host: p.host }),
    ...(p.port && { port: p.port }),
    ...(p.database && { database: p.database }),
    ...((s.user ?? p.user) && { user: s.user ?? p.user }),
    ...(s.password !== undefined && { password: s.password }),
  };
}

export function httpSourceParams(params: unknown, secrets: unknown): HttpSourceParams {
  const p = parseParams(httpParams, params, "HTTP source");
  return { ...p, authHeaders: authHeaders(secrets, "HTTP source") };
}

/** Authorization headers from secrets: `bearer`, `username` + `password` (basic), `headers`. */
export function authHeaders(secrets: unknown, what: string): Record<string, string> {
  const s = parseParams(secretsSchema, secrets, `${what} secrets`);
  const headers: Record<string, string> = { ...(s.headers ?? {}) };
  if (s.bearer) headers.authorization = `Bearer ${s.bearer}`;
  else if (s.username !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${s.username}:${s.password ?? ""}`).toString("base64")}`;
  return headers;
}
