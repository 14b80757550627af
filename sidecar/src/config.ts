import { accessSync, constants, readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { z } from "zod";
import { DEFAULT_EVALUATION_LIMITS } from "./mapping-core/contract.js";

/**
 * Sidecar configuration: the environment, over an optional JSON file named by
 * `PLANT_BRIDGE_CONFIG` whose keys are the same variable names (the environment wins).
 * Validated once at start; errors name the variable and never echo a secret.
 */

const SECRETS = new Set([
  "PLANT_BRIDGE_ODOO_API_KEY",
  "PLANT_BRIDGE_ADMIN_TOKEN",
  "PLANT_BRIDGE_MQTT_PASSWORD",
  "PLANT_BRIDGE_WEBHOOK_SECRET",
  "PLANT_BRIDGE_WEBHOOK_SECRETS",
]);

// 0 asks the OS for a free port (tests, several sidecars on one host).
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(["1", "0", "true", "false", "yes", "no", "on", "off"])
    .default(fallback ? "true" : "false")
    .transform((v) => ["1", "true", "yes", "on"].includes(v));
const code = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "a site code: letters, digits, _ . - (at most 64)");
const httpUrl = z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" });
const readableFile = z.string().refine(
  (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  { message: "a readable PEM file" },
);
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const schema = z
  .object({
    PLANT_BRIDGE_ODOO_URL: optional(httpUrl),
    PLANT_BRIDGE_ODOO_DB: optional(z.string().min(1).max(63)),
    PLANT_BRIDGE_ODOO_API_KEY: optional(
      z.string().min(16, "an Odoo API key (at least 16 characters)"),
    ),
    PLANT_BRIDGE_MQTT_URL: optional(
      z.url({
        protocol: /^(mqtts?|wss?|tcp|ssl)$/,
        error: "an mqtt://, mqtts://, ws:// or wss:// URL",
      }),
    ),
    PLANT_BRIDGE_MQTT_USERNAME: optional(z.string().max(256)),
    PLANT_BRIDGE_MQTT_PASSWORD: optional(z.string().max(1024)),
    PLANT_BRIDGE_MQTT_PROTOCOL: z.enum(["auto", "5", "3.1.1"]).default("auto"),
    PLANT_BRIDGE_MQTT_CA: optional(readableFile),
    PLANT_BRIDGE_MQTT_CERT: optional(readableFile),
    PLANT_BRIDGE_MQTT_KEY: optional(readableFile),
    PLANT_BRIDGE_MQTT_PORT: port(1883),
    PLANT_BRIDGE_MQTT_HOST: z.string().min(1).default("127.0.0.1"),
    PLANT_BRIDGE_STORE: z.string().min(1).default("./data/plant-bridge.db"),
    PLANT_BRIDGE_HTTP_PORT: port(4000),
    PLANT_BRIDGE_HTTP_HOST: z.string().min(1).default("127.0.0.1"),
    PLANT_BRIDGE_SITE: code.default("main"),
    PLANT_BRIDGE_SITES: optional(
      z
        .string()
        .regex(
          /^[A-Za-z0-9_.-]{1,64}(,[A-Za-z0-9_.-]{1,64})*$/,
          "a comma-separated list of site codes",
        ),
    ),
    PLANT_BRIDGE_ADMIN_TOKEN: optional(z.string().min(16, "a token of at least 16 characters")),
    PLANT_BRIDGE_WEBHOOK_SECRET: optional(
      z.string().min(32, "a shared secret of at least 32 characters").max(1024),
    ),
    PLANT_BRIDGE_WEBHOOK_SECRETS: optional(
      z
        .string()
        .max(65_536)
        .regex(
          /^\s*[A-Za-z0-9_.-]{1,64}(\/[A-Za-z0-9_.-]{1,64})?=[^,\s]{32,1024}\s*(,\s*[A-Za-z0-9_.-]{1,64}(\/[A-Za-z0-9_.-]{1,64})?=[^,\s]{32,1024}\s*)*$/,
          "a comma-separated list of <site>=<secret> or <site>/<source>=<secret> (secrets of at least 32 characters, without commas or spaces)",
        ),
    ),
    PLANT_BRIDGE_WEBHOOK_TOLERANCE_SECONDS: positiveInt(300, 86_400),
    PLANT_BRIDGE_LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    PLANT_BRIDGE_MAX_MESSAGE_BYTES: positiveInt(256 * 1024, 16 * 1024 * 1024),
    PLANT_BRIDGE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)")
      .default(sanitize(hostname())),
    PLANT_BRIDGE_INGEST_GROUP: optional(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
    ),
    PLANT_BRIDGE_SIM_RATE: z.coerce.number().min(0.01).max(100000).default(2),
    PLANT_BRIDGE_SIM_MACHINES: positiveInt(3, 1000),
    PLANT_BRIDGE_RETENTION_DAYS: positiveInt(14, 3650),
    PLANT_BRIDGE_DEAD_LETTER_BUDGET: positiveInt(10_000, 10_000_000),
    PLANT_BRIDGE_GRAPHIQL: bool(process.env.NODE_ENV !== "production"),
    PLANT_BRIDGE_CORS_ORIGINS: optional(
      z
        .string()
        .regex(
          /^https?:\/\/[^\s,/]+(,\s*https?:\/\/[^\s,/]+)*$/,
          "a comma-separated list of origins (scheme://host[:port], no path)",
        ),
    ),
    PLANT_BRIDGE_ODOO_LOGIN: optional(z.string().min(1).max(256)),
    PLANT_BRIDGE_ODOO_TIMEOUT_MS: positiveInt(120_000, 3_600_000),
    PLANT_BRIDGE_ENVIRONMENT: optional(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}$/, "an environment name such as production or test")
        .transform((v) => v.toLowerCase()),
    ),
    PLANT_BRIDGE_POST_BATCH_SIZE: positiveInt(1000, 5000),
    PLANT_BRIDGE_POST_LINGER_MS: z.coerce.number().int().min(0).max(60_000).default(200),
    PLANT_BRIDGE_POST_CONCURRENCY: positiveInt(3, 8),
    PLANT_BRIDGE_CONFIG_POLL_SECONDS: positiveInt(30, 86_400),
    PLANT_BRIDGE_TOKEN_LIST_MAX_AGE_SECONDS: positiveInt(300, 86_400),
    PLANT_BRIDGE_OUTBOUND_POLL_SECONDS: positiveInt(5, 86_400),
    PLANT_BRIDGE_HEARTBEAT_SECONDS: positiveInt(15, 86_400),
    PLANT_BRIDGE_MAPPINGS: optional(z.string().min(1)),
    PLANT_BRIDGE_MAPPING_WORKERS: positiveInt(
      Math.max(1, Math.min(4, availableParallelism() - 1)),
      64,
    ),
    PLANT_BRIDGE_MAPPING_TIMEOUT_MS: positiveInt(DEFAULT_EVALUATION_LIMITS.timeoutMs, 60_000),
    PLANT_BRIDGE_SPARKPLUG_GROUPS: z
      .string()
      .regex(
        /^(none|\+|[^,+#/\0]+(,[^,+#/\0]+)*)$/,
        'a comma-separated list of Sparkplug group ids, "+" (all) or "none"',
      )
      .default("+"),
    PLANT_BRIDGE_SPARKPLUG_HOST_ID: optional(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 letters, digits, '_', '.' or '-'"),
    ),
    PLANT_BRIDGE_SAMPLE_TOPICS: optional(
      z.string().regex(/^[^,\0]+(,[^,\0]+)*$/, "a comma-separated list of MQTT topic filters"),
    ),
    PLANT_BRIDGE_LEGACY: optional(z.string().min(1)),
    PLANT_BRIDGE_LEGACY_ROOTS: optional(
      z.string().regex(/^[^,\0]+(,[^,\0]+)*$/, "a comma-separated list of folders"),
    ),
    PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS: z.coerce.number().int().min(0).max(600_000).default(0),
    PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK: bool(false),
  })
  .superRefine((c, ctx) => {
    if ((c.PLANT_BRIDGE_MQTT_CERT === undefined) !== (c.PLANT_BRIDGE_MQTT_KEY === undefined))
      ctx.addIssue({
        code: "custom",
        path: [
          c.PLANT_BRIDGE_MQTT_CERT === undefined
            ? "PLANT_BRIDGE_MQTT_CERT"
            : "PLANT_BRIDGE_MQTT_KEY",
        ],
        message: "a client certificate needs both PLANT_BRIDGE_MQTT_CERT and PLANT_BRIDGE_MQTT_KEY",
      });
    const tls = c.PLANT_BRIDGE_MQTT_CA ?? c.PLANT_BRIDGE_MQTT_CERT ?? c.PLANT_BRIDGE_MQTT_KEY;
    if (tls !== undefined && !/^(mqtts|wss|ssl):/.test(c.PLANT_BRIDGE_MQTT_URL ?? ""))
      ctx.addIssue({
        code: "custom",
        path: ["PLANT_BRIDGE_MQTT_URL"],
        message: "PLANT_BRIDGE_MQTT_CA/CERT/KEY need an mqtts:// or wss:// broker URL",
      });
    if (c.PLANT_BRIDGE_INGEST_GROUP !== undefined && c.PLANT_BRIDGE_MQTT_URL === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["PLANT_BRIDGE_INGEST_GROUP"],
        message:
          "an ingest group shares a session on an external broker: set PLANT_BRIDGE_MQTT_URL",
      });
    const odoo = [c.PLANT_BRIDGE_ODOO_URL, c.PLANT_BRIDGE_ODOO_DB, c.PLANT_BRIDGE_ODOO_API_KEY];
    if (odoo.some((v) => v !== undefined) && odoo.some((v) => v === undefined)) {
      for (const key of [
        "PLANT_BRIDGE_ODOO_URL",
        "PLANT_BRIDGE_ODOO_DB",
        "PLANT_BRIDGE_ODOO_API_KEY",
      ] as const) {
        if (c[key] === undefined)
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "required when any PLANT_BRIDGE_ODOO_* is set",
          });
      }
    }
  });

type Raw = z.output<typeof schema>;

export interface Config {
  /**
   * `environment`: what this sidecar declares itself (production, test...); Odoo refuses its
   * posts, configuration reads and releases when the database declares another one.
   */
  odoo?: {
    url: string;
    db: string;
    apiKey: string;
    login?: string;
    timeoutMs: number;
    environment?: string;
  };
  /** Posting to Odoo and the periodic exchanges with it. */
  sync: {
    batchSize: number;
    lingerMs: number;
    /** Posting calls to Odoo at once (a batch split by business object). */
    concurrency: number;
    configPollMs: number;
    /** How long the API token list pulled from Odoo is trusted while Odoo is unreachable. */
    tokenListMaxAgeMs: number;
    outboundPollMs: number;
    heartbeatMs: number;
  };
  mqtt: {
    url?: string;
    username?: string;
    password?: string;
    /** MQTT version to an external broker: "auto" tries 5, then 3.1.1 if the broker refuses. */
    protocol: "auto" | 4 | 5;
    /** PEM files (paths) for TLS to an external broker: a private CA, a client certificate. */
    tls?: { ca?: string; cert?: string; key?: string };
    embeddedPort: number;
    embeddedHost: string;
  };
  store: string;
  /** `corsOrigins`: browser origins allowed to call the API (none by default). */
  http: { port: number; host: string; graphiql: boolean; corsOrigins: string[] };
  site: string;
  /** Sites whose canonical topic this sidecar subscribes to (the default site first). */
  sites: string[];
  adminToken?: string;
  /** Signed HTTP webhooks (README "Signed webhooks"); no secret: no webhook routes. */
  webhook: {
    /** The default secret of every site without one of its own. */
    secret?: string;
    /** Secrets by `<site>` or `<site>/<source>` (PLANT_BRIDGE_WEBHOOK_SECRETS). */
    secrets?: Record<string, string>;
    toleranceSeconds: number;
  };
  logLevel: Raw["PLANT_BRIDGE_LOG_LEVEL"];
  maxMessageBytes: number;
  name: string;
  /**
   * Sidecars of one ingest group on one PostgreSQL store elect one ingest owner; it alone is
   * connected, on the group's session `plant-bridge-<group>`, the others are hot standbys.
   * Undefined: this sidecar ingests on its own session `plant-bridge-<name>`.
   */
  ingestGroup?: string;
  sim: { rate: number; machines: number };
  retentionDays: number;
  /** Open dead letters kept per site and code; the oldest beyond it are evicted and counted. */
  deadLetterBudget: number;
  /** Low-code mappings (JSONata) and their sandbox. */
  mapping: {
    /** A local JSON file of mappings (runs with or without Odoo). */
    file?: string;
    workers: number;
    /** Longest evaluation of one message; a worker stuck 4x longer (1 s at least) is terminated. */
    timeoutMs: number;
    /** Extra topic filters sampled (not processed) for the Mapping Studio. */
    sampleTopics: string[];
    /** Sparkplug B groups the host subscribes to (`+`: all); empty: no Sparkplug host. */
    sparkplugGroups: string[];
    /** Sparkplug primary host id: STATE announced on `spBv1.0/STATE/<id>`; unset: none. */
    sparkplugHostId?: string;
  };
  /** Legacy systems: scheduled pulls and sinks (README "Legacy systems"). */
  legacy: {
    /** A local JSON file of legacy connectors and schedules (runs with or without Odoo). */
    file?: string;
    /** When not empty, folders of file connectors must be inside one of these. */
    roots: string[];
    /** Whether HTTP connectors configured in Odoo may reach loopback addresses. */
    allowLoopback: boolean;
    /** Test hook: pause after rows are read, before they are committed (crash tests). */
    pauseAfterReadMs: number;
  };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigValidationError";
  }
}

/** Reads and validates the configuration; throws `ConfigValidationError` listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = readConfigFile(env.PLANT_BRIDGE_CONFIG);
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(env))
    if (k.startsWith("PLANT_BRIDGE_") && v !== undefined) merged[k] = v;
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigValidationError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? "configuration");
        const got =
          SECRETS.has(key) || merged[key] === undefined
            ? ""
            : ` (got ${JSON.stringify(String(merged[key]).slice(0, 80))})`;
        return `${key}: ${issue.message}${got}`;
      }),
    );
  }
  const c = parsed.data;
  const extra = c.PLANT_BRIDGE_SITES?.split(",") ?? [];
  const config: Config = {
    mqtt: {
      embeddedPort: c.PLANT_BRIDGE_MQTT_PORT,
      embeddedHost: c.PLANT_BRIDGE_MQTT_HOST,
      protocol: { auto: "auto" as const, "5": 5 as const, "3.1.1": 4 as const }[
        c.PLANT_BRIDGE_MQTT_PROTOCOL
      ],
    },
    store: c.PLANT_BRIDGE_STORE,
    http: {
      port: c.PLANT_BRIDGE_HTTP_PORT,
      host: c.PLANT_BRIDGE_HTTP_HOST,
      graphiql: c.PLANT_BRIDGE_GRAPHIQL,
      corsOrigins: c.PLANT_BRIDGE_CORS_ORIGINS?.split(",").map((o) => o.trim()) ?? [],
    },
    site: c.PLANT_BRIDGE_SITE,
    sites: [...new Set([c.PLANT_BRIDGE_SITE, ...extra])],
    webhook: { toleranceSeconds: c.PLANT_BRIDGE_WEBHOOK_TOLERANCE_SECONDS },
    logLevel: c.PLANT_BRIDGE_LOG_LEVEL,
    maxMessageBytes: c.PLANT_BRIDGE_MAX_MESSAGE_BYTES,
    name: c.PLANT_BRIDGE_NAME,
    ...(c.PLANT_BRIDGE_INGEST_GROUP !== undefined && { ingestGroup: c.PLANT_BRIDGE_INGEST_GROUP }),
    sim: { rate: c.PLANT_BRIDGE_SIM_RATE, machines: c.PLANT_BRIDGE_SIM_MACHINES },
    retentionDays: c.PLANT_BRIDGE_RETENTION_DAYS,
    deadLetterBudget: c.PLANT_BRIDGE_DEAD_LETTER_BUDGET,
    sync: {
      batchSize: c.PLANT_BRIDGE_POST_BATCH_SIZE,
      lingerMs: c.PLANT_BRIDGE_POST_LINGER_MS,
      concurrency: c.PLANT_BRIDGE_POST_CONCURRENCY,
      configPollMs: c.PLANT_BRIDGE_CONFIG_POLL_SECONDS * 1000,
      tokenListMaxAgeMs: c.PLANT_BRIDGE_TOKEN_LIST_MAX_AGE_SECONDS * 1000,
      outboundPollMs: c.PLANT_BRIDGE_OUTBOUND_POLL_SECONDS * 1000,
      heartbeatMs: c.PLANT_BRIDGE_HEARTBEAT_SECONDS * 1000,
    },
    mapping: {
      workers: c.PLANT_BRIDGE_MAPPING_WORKERS,
      timeoutMs: c.PLANT_BRIDGE_MAPPING_TIMEOUT_MS,
      sampleTopics: c.PLANT_BRIDGE_SAMPLE_TOPICS?.split(",").map((f) => f.trim()) ?? [],
      sparkplugGroups:
        c.PLANT_BRIDGE_SPARKPLUG_GROUPS === "none"
          ? []
          : c.PLANT_BRIDGE_SPARKPLUG_GROUPS.split(","),
      ...(c.PLANT_BRIDGE_SPARKPLUG_HOST_ID !== undefined && {
        sparkplugHostId: c.PLANT_BRIDGE_SPARKPLUG_HOST_ID,
      }),
      ...(c.PLANT_BRIDGE_MAPPINGS && { file: c.PLANT_BRIDGE_MAPPINGS }),
    },
    legacy: {
      roots: c.PLANT_BRIDGE_LEGACY_ROOTS?.split(",").map((f) => f.trim()) ?? [],
      allowLoopback: c.PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK,
      pauseAfterReadMs: c.PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS,
      ...(c.PLANT_BRIDGE_LEGACY && { file: c.PLANT_BRIDGE_LEGACY }),
    },
  };
  if (c.PLANT_BRIDGE_ODOO_URL && c.PLANT_BRIDGE_ODOO_DB && c.PLANT_BRIDGE_ODOO_API_KEY) {
    config.odoo = {
      url: c.PLANT_BRIDGE_ODOO_URL.replace(/\/+$/, ""),
      db: c.PLANT_BRIDGE_ODOO_DB,
      apiKey: c.PLANT_BRIDGE_ODOO_API_KEY,
      timeoutMs: c.PLANT_BRIDGE_ODOO_TIMEOUT_MS,
      ...(c.PLANT_BRIDGE_ODOO_LOGIN && { login: c.PLANT_BRIDGE_ODOO_LOGIN }),
      ...(c.PLANT_BRIDGE_ENVIRONMENT && { environment: c.PLANT_BRIDGE_ENVIRONMENT }),
    };
  }
  if (c.PLANT_BRIDGE_MQTT_URL) config.mqtt.url = c.PLANT_BRIDGE_MQTT_URL;
  const tls = {
    ...(c.PLANT_BRIDGE_MQTT_CA && { ca: c.PLANT_BRIDGE_MQTT_CA }),
    ...(c.PLANT_BRIDGE_MQTT_CERT && { cert: c.PLANT_BRIDGE_MQTT_CERT }),
    ...(c.PLANT_BRIDGE_MQTT_KEY && { key: c.PLANT_BRIDGE_MQTT_KEY }),
  };
  if (Object.keys(tls).length) config.mqtt.tls = tls;
  if (c.PLANT_BRIDGE_MQTT_USERNAME) config.mqtt.username = c.PLANT_BRIDGE_MQTT_USERNAME;
  if (c.PLANT_BRIDGE_MQTT_PASSWORD) config.mqtt.password = c.PLANT_BRIDGE_MQTT_PASSWORD;
  if (c.PLANT_BRIDGE_ADMIN_TOKEN) config.adminToken = c.PLANT_BRIDGE_ADMIN_TOKEN;
  if (c.PLANT_BRIDGE_WEBHOOK_SECRET) config.webhook.secret = c.PLANT_BRIDGE_WEBHOOK_SECRET;
  if (c.PLANT_BRIDGE_WEBHOOK_SECRETS)
    config.webhook.secrets = Object.fromEntries(
      c.PLANT_BRIDGE_WEBHOOK_SECRETS.split(",").map((entry) => {
        const [key, secret] = entry.trim().split(/=(.*)/s);
        return [key!, secret!];
      }),
    );
  return config;
}

/** A copy safe to log: secrets replaced by "[redacted]". */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    odoo: config.odoo ? { ...config.odoo, apiKey: "[redacted]" } : "offline (events buffer)",
    mqtt: {
      ...config.mqtt,
      url: config.mqtt.url ?? "embedded",
      password: config.mqtt.password ? "[redacted]" : undefined,
    },
    adminToken: config.adminToken ? "[redacted]" : "unset",
    webhook: {
      ...config.webhook,
      secret: config.webhook.secret ? "[redacted]" : "unset",
      ...(config.webhook.secrets && {
        secrets: Object.fromEntries(
          Object.keys(config.webhook.secrets).map((k) => [k, "[redacted]"]),
        ),
      }),
    },
    store: config.store.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:[redacted]@"),
  };
}

function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigValidationError([
      `PLANT_BRIDGE_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ConfigValidationError([`PLANT_BRIDGE_CONFIG: ${path} is not valid JSON`]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigValidationError([
      `PLANT_BRIDGE_CONFIG: ${path} must hold a JSON object of PLANT_BRIDGE_* keys`,
    ]);
  }
  const unknown = Object.keys(data).filter((k) => !(k in schema.shape));
  if (unknown.length)
    throw new ConfigValidationError(
      unknown.map((k) => `PLANT_BRIDGE_CONFIG: unknown key ${k} in ${path}`),
    );
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? v : String(v)]),
  );
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 64) || "sidecar";
}
