/**
 * "Test connection" on a connector's form in Odoo (docs/odoo-api.md `report_connector_tests`):
 * Odoo cannot reach the plant network, the sidecar can. Each request names a connector of the
 * site; it is looked up in the site's current configuration (params and secrets of `get_config`)
 * and tried once, with a short timeout, the way the sidecar itself would use it:
 * - `mqtt`, `sink_mqtt`: connect to `url` (or `host` + `port`) with the secrets' credentials and
 *   disconnect; without a broker of its own, the state of the sidecar's MQTT connection;
 * - `file_drop`, `sink_file`: the folder, confined to PLANT_BRIDGE_LEGACY_ROOTS like the legacy
 *   code, exists and is readable and writable (read files are moved away; a sink folder that does
 *   not exist yet is created on the first release when its parent is writable);
 * - `sql_source`, `sink_sql`: open the database client and run `SELECT 1`;
 * - `http_source`, `sink_http`: HEAD the URL with the auth headers (GET when HEAD is refused).
 * Parameters are checked with the legacy parsers, so a broken parameter is named as a scheduled
 * run would name it. A message never carries a secret: secret values and URL passwords are masked.
 */
import type { ConnectorConfig, SiteConfig } from "../contracts/site-config.js";
import {
  checkOutboundUrl,
  createOutboundDispatcher,
  type OutboundPolicy,
} from "../connectors/outbound-http.js";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, readdir, stat } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { dirname } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { request } from "undici";
import { z } from "zod";
import {
  authHeaders,
  fileDropParams,
  parseParams,
  sqlConnection,
  SQL_CONNECTION,
} from "../connectors/params.js";
import { confineFolder, requireRoots } from "../connectors/folder.js";
import { describeConnection, openSqlClient, redact } from "../connectors/sql-client.js";

/** One pending request of `heartbeat`'s `connector_tests`. */
export interface ConnectorTestRequest {
  test_id: number;
  connector_id: number;
  connector?: string;
  kind?: string;
}

/** One answer of `report_connector_tests`. */
export interface ConnectorTestResult {
  test_id: number;
  ok: boolean;
  message: string;
  duration_ms: number;
}

export interface ConnectorTesterOptions {
  /** The site's current configuration (config-sync's `current()`). */
  config: () => Pick<SiteConfig, "revision" | "connectors"> | undefined;
  /**
   * Loads the newest configuration before a run, so a connector edited just before its test is
   * tried as saved; a failure leaves the configuration at hand. @default none
   */
  refresh?: () => Promise<unknown>;
  /** Relative folders of file connectors resolve against this. @default process.cwd() */
  baseDir?: string;
  /** PLANT_BRIDGE_LEGACY_ROOTS: folders of file connectors must be inside one. @default [] */
  roots?: string[];
  /** HTTP connectors: which addresses they may reach (PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK). @default no loopback */
  outbound?: OutboundPolicy;
  /** The sidecar's own MQTT connection, for an MQTT connector without a broker URL. @default none */
  ownMqtt?: () => Pick<MqttClient, "connected"> | undefined;
  /** Time given to each test. @default 5000 */
  timeoutMs?: number;
}

export interface ConnectorTester {
  /** Runs the requests side by side; one answer per request, in order, never a rejection. */
  run(requests: ConnectorTestRequest[]): Promise<ConnectorTestResult[]>;
}

interface Outcome {
  ok: boolean;
  message: string;
}

const MAX_MESSAGE = 1000;

// Only what a connection needs: the other parameters are checked when a schedule or sink uses them.
const sqlParams = z.object(SQL_CONNECTION);
/** A test's own problems read as plain errors (the answer names the parameter). */
const plainError = (message: string) => new Error(message);
const httpParams = z.object({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).default({}),
});
const mqttParams = z.object({
  url: z.url({ protocol: /^(mqtts?|wss?|tcp|ssl)$/ }).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  protocolVersion: z.union([z.literal(3), z.literal(4), z.literal(5)]).optional(),
});
const mqttSecrets = z.object({
  username: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
});
const sinkFileParams = z.object({ path: z.string().min(1) });

export function createConnectorTester(options: ConnectorTesterOptions): ConnectorTester {
  const timeoutMs = options.timeoutMs ?? 5000;
  const baseDir = options.baseDir ?? process.cwd();
  const roots = options.roots ?? [];

  async function one(req: ConnectorTestRequest): Promise<ConnectorTestResult> {
    const started = performance.now();
    const config = options.config();
    const connector = config?.connectors.find((c) => c.id === req.connector_id);
    let outcome: Outcome;
    if (!connector) {
      const name = req.connector ? ` "${req.connector}"` : "";
      const where = config
        ? `configuration revision ${config.revision}`
        : "configuration (none yet)";
      outcome = {
        ok: false,
        message: `unknown connector #${req.connector_id}${name}: not in this sidecar's ${where}; inactive, or of another site?`,
      };
    } else {
      try {
        outcome = await withDeadline(probe(connector), timeoutMs + 1000);
      } catch (err) {
        outcome = { ok: false, message: describeError(err) };
      }
      outcome = { ok: outcome.ok, message: mask(outcome.message, connector) };
    }
    return {
      test_id: req.test_id,
      ok: outcome.ok,
      message: outcome.message.slice(0, MAX_MESSAGE),
      duration_ms: Math.round(performance.now() - started),
    };
  }

  function probe(c: ConnectorConfig): Promise<Outcome> {
    switch (c.kind) {
      case "mqtt":
      case "sink_mqtt":
        return probeMqtt(c);
      case "file_drop":
        // Test Connection is asked from Odoo: its folders need roots like the connector's runs
        requireRoots(roots, `file drop ${c.name}`);
        return probeFolder(fileDropParams(c.params, { baseDir, roots }).dir, false);
      case "sink_file": {
        requireRoots(roots, `file sink ${c.name}`);
        const p = parseParams(sinkFileParams, c.params, `file sink ${c.name}`, plainError);
        try {
          return probeFolder(confineFolder(p.path, baseDir, roots), true);
        } catch (err) {
          throw new Error(`file sink ${c.name}: ${(err as Error).message}`, { cause: err });
        }
      }
      case "sql_source":
      case "sink_sql": {
        const what = `${c.kind === "sink_sql" ? "SQL sink" : "SQL source"} ${c.name}`;
        return probeSql(
          sqlConnection(parseParams(sqlParams, c.params, what, plainError), c.secrets, what),
        );
      }
      case "http_source":
      case "sink_http":
        return probeHttp(c);
      default:
        return Promise.resolve({
          ok: false,
          message: `connector kind ${String(c.kind)} cannot be tested`,
        });
    }
  }

  function probeMqtt(c: ConnectorConfig): Promise<Outcome> {
    const what = `MQTT connector ${c.name}`;
    const p = parseParams(mqttParams, c.params, what, plainError);
    if (!p.url && !p.host) {
      // No broker of its own: it is the sidecar's broker (releases go to the command topic there).
      const own = options.ownMqtt?.();
      if (!own) return Promise.resolve({ ok: false, message: `${what}: url: a broker URL` });
      return Promise.resolve(
        own.connected
          ? { ok: true, message: "no url of its own: the sidecar's MQTT connection is up" }
          : { ok: false, message: "no url of its own: the sidecar's MQTT connection is down" },
      );
    }
    const s = parseParams(mqttSecrets, c.secrets, `${what} secrets`, plainError);
    const url = new URL(p.url ?? `mqtt://${p.host}:${p.port ?? 1883}`);
    const where = `${url.protocol}//${url.host}`;
    const username =
      s.username ?? s.user ?? (url.username ? decodeURIComponent(url.username) : undefined);
    if (s.password !== undefined && username === undefined)
      throw new Error(`${what} secrets: username: required with a password`);
    const started = performance.now();
    return new Promise((resolve) => {
      const client = mqtt.connect(url.toString(), {
        clientId: `plant-bridge-test-${randomBytes(6).toString("hex")}`,
        clean: true,
        protocolVersion: p.protocolVersion ?? 5,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
        ...(username !== undefined && { username }),
        ...(s.password !== undefined && { password: s.password }),
      });
      let settled = false;
      const done = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.end(true);
        resolve(outcome);
      };
      const timer = setTimeout(
        () => done({ ok: false, message: `${where}: no CONNACK within ${timeoutMs} ms` }),
        timeoutMs,
      );
      client.once("connect", () =>
        done({
          ok: true,
          message: `CONNACK in ${Math.round(performance.now() - started)} ms from ${where}`,
        }),
      );
      // Some failures (a CONNECT that cannot be written) reach only the stream, then `close`.
      let streamError: unknown;
      client.stream?.on("error", (err) => (streamError ??= err));
      client.on("error", (err) => done({ ok: false, message: `${where}: ${describeError(err)}` }));
      client.once("close", () =>
        done({
          ok: false,
          message: `${where}: ${streamError ? describeError(streamError) : "connection closed before CONNACK"}`,
        }),
      );
    });
  }

  async function probeFolder(dir: string, sink: boolean): Promise<Outcome> {
    let st;
    try {
      st = await stat(dir);
    } catch (err) {
      const { code, message } = err as NodeJS.ErrnoException;
      if (code !== "ENOENT") return { ok: false, message: `folder ${dir}: ${message}` };
      if (!sink) return { ok: false, message: `folder ${dir} does not exist` };
      // The file sink creates its folder on the first release.
      let parent = dirname(dir);
      while (
        (await stat(parent).catch(() => undefined)) === undefined &&
        parent !== dirname(parent)
      )
        parent = dirname(parent);
      const writable = await access(parent, constants.W_OK).then(
        () => true,
        () => false,
      );
      return writable
        ? { ok: true, message: `folder ${dir} does not exist yet: created in ${parent} on use` }
        : { ok: false, message: `folder ${dir} does not exist and ${parent} is not writable` };
    }
    if (!st.isDirectory()) return { ok: false, message: `${dir} is not a folder` };
    for (const [mode, what] of [
      [constants.R_OK | constants.X_OK, "readable"],
      [constants.W_OK, "writable"],
    ] as const) {
      const allowed = await access(dir, mode).then(
        () => true,
        () => false,
      );
      if (!allowed) return { ok: false, message: `folder ${dir} is not ${what} by the sidecar` };
    }
    const entries = sink ? undefined : (await readdir(dir)).length;
    return {
      ok: true,
      message: `folder ${dir} readable and writable${entries === undefined ? "" : `, ${entries} entries`}`,
    };
  }

  async function probeSql(connection: Parameters<typeof openSqlClient>[0]): Promise<Outcome> {
    const where = describeConnection(connection);
    const client = openSqlClient({ ...connection, connectTimeoutMs: timeoutMs });
    const started = performance.now();
    try {
      await client.query("SELECT 1");
      const ms = Math.round(performance.now() - started);
      return { ok: true, message: `SELECT 1 in ${ms} ms on ${where}` };
    } catch (err) {
      return { ok: false, message: `${where}: ${redact(describeError(err), connection)}` };
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async function probeHttp(c: ConnectorConfig): Promise<Outcome> {
    const sink = c.kind === "sink_http";
    const what = `${sink ? "HTTP sink" : "HTTP source"} ${c.name}`;
    const p = parseParams(httpParams, c.params, what, plainError);
    const headers = { ...p.headers, ...authHeaders(c.secrets, what) };
    const url = checkOutboundUrl(new URL(p.url), what, options.outbound);
    const dispatcher = createOutboundDispatcher(options.outbound);
    // Never the query string: it may carry a token.
    const where = `${url.origin}${url.pathname}`;
    const started = performance.now();
    const call = async (method: "HEAD" | "GET") => {
      try {
        const res = await request(url, {
          dispatcher,
          method,
          headers,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body.dump().catch(() => undefined);
        return res.statusCode;
      } catch (err) {
        const name = (err as Error).name;
        if (name === "TimeoutError" || name === "AbortError")
          throw new Error(`${method} ${where}: no answer within ${timeoutMs} ms`, { cause: err });
        throw new Error(`${method} ${where}: ${describeError(err)}`, { cause: err });
      }
    };
    let method: "HEAD" | "GET" = "HEAD";
    let status = await call(method);
    if (status === 405 || status === 501) status = await call((method = "GET"));
    const ms = Math.round(performance.now() - started);
    const answer = `${method} ${where}: ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd();
    // A sink only takes POSTs: a 405 to GET still proves it is there.
    if (status < 400 || (sink && status === 405))
      return { ok: true, message: `${answer} in ${ms} ms` };
    return { ok: false, message: answer };
  }

  return {
    async run(requests) {
      if (requests.length) await options.refresh?.().catch(() => undefined);
      return Promise.all(requests.map(one));
    },
  };
}

/** An error's message; Node's dual-stack connect failure is an AggregateError without one. */
function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[] };
  if (!e?.message && e?.errors?.length)
    return [...new Set(e.errors.map((x) => describeError(x)))].join("; ");
  return e?.message || e?.code || String(err);
}

/** Every string of the connector's secrets, and any URL password, masked. */
function mask(text: string, connector: ConnectorConfig): string {
  const secrets: string[] = [];
  const collect = (v: unknown) => {
    if (typeof v === "string") secrets.push(v, encodeURIComponent(v));
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  collect(connector.secrets);
  return secrets.reduce((out, password) => redact(out, { password }), redact(text, {}));
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
