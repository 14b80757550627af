import type { OdooClient, OdooErrorBody } from "../contracts/odoo-api.js";
import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import { ConfigError, PermanentError, PlantBridgeError, TransientError } from "../errors.js";

export interface OdooClientOptions {
  /** Odoo base URL, e.g. `http://odoo:8069`. */
  url: string;
  db: string;
  /** API key of the connector service user. Never logged. */
  apiKey: string;
  /** Login of that user: only needed for JSON-RPC on Odoo 17/18. */
  login?: string;
  /** Per-call timeout (headers and body). @default 120000 */
  timeoutMs?: number;
  /** Force a protocol instead of asking `/web/version`. */
  protocol?: "json2" | "jsonrpc";
  /** Shared connection pool. @default a keep-alive Agent */
  dispatcher?: Dispatcher;
  /**
   * Asked when Odoo answers 401 to a call made with the current key (a rotated, revoked key):
   * resolves true when it switched the client to another key (`setApiKey`), and the call is
   * sent once more with it. Odoo refuses a bad key before it does anything, so the second call
   * cannot apply anything twice. @default none: the 401 is the caller's
   */
  onUnauthorized?: () => Promise<boolean>;
}

/**
 * Odoo's external API: JSON-2 (`POST /json/2/<model>/<method>`, bearer API key) on Odoo 19+,
 * JSON-RPC `execute_kw` with login + API key on 17/18, chosen by `/web/version`. HTTP outcomes
 * map onto the error taxonomy: 422/404 permanent, 409/5xx/network transient, 401/403 config.
 */
export function createOdooClient(options: OdooClientOptions): OdooClient {
  const base = options.url.replace(/\/+$/, "");
  const timeout = options.timeoutMs ?? 120_000;
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  const dispatcher = options.dispatcher ?? ownAgent!;
  let protocol = options.protocol;
  let apiKey = options.apiKey;
  let versionInfo: number[] | undefined;
  let uid: number | undefined;

  async function http(
    path: string,
    method: "GET" | "POST",
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    try {
      const res = await undiciRequest(`${base}${path}`, {
        method,
        dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        headers: { ...(body !== undefined && { "content-type": "application/json" }), ...headers },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, text };
    } catch (err) {
      throw new TransientError(
        "odoo_unreachable",
        `Odoo is unreachable at ${base}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async function version(): Promise<number[]> {
    if (versionInfo) return versionInfo;
    const res = await http("/web/version", "GET");
    if (res.status >= 500)
      throw new TransientError("odoo_unavailable", `Odoo answered ${res.status} on /web/version`);
    if (res.status !== 200)
      throw new ConfigError(
        "odoo_version",
        `Odoo answered ${res.status} on /web/version: is ${base} an Odoo server?`,
      );
    const info = (JSON.parse(res.text) as { version_info?: number[] }).version_info;
    if (!Array.isArray(info))
      throw new ConfigError("odoo_version", "Odoo's /web/version has no version_info");
    versionInfo = info;
    return info;
  }

  async function chosenProtocol(): Promise<"json2" | "jsonrpc"> {
    if (protocol) return protocol;
    const [major] = await version();
    protocol = (major ?? 0) >= 19 ? "json2" : "jsonrpc";
    return protocol;
  }

  async function callJson2<T>(
    model: string,
    method: string,
    kwargs: Record<string, unknown>,
  ): Promise<T> {
    const res = await http(
      `/json/2/${encodeURIComponent(model)}/${encodeURIComponent(method)}`,
      "POST",
      kwargs,
      {
        authorization: `bearer ${apiKey}`,
        "x-odoo-database": options.db,
      },
    );
    if (res.status === 200) return JSON.parse(res.text) as T;
    throw errorFromStatus(res.status, parseErrorBody(res.text), `${model}.${method}`);
  }

  async function rpc<T>(service: string, method: string, args: unknown[]): Promise<T> {
    const res = await http("/jsonrpc", "POST", {
      jsonrpc: "2.0",
      method: "call",
      id: Date.now(),
      params: { service, method, args },
    });
    if (res.status !== 200)
      throw errorFromStatus(res.status, parseErrorBody(res.text), `${service}.${method}`);
    const body = JSON.parse(res.text) as {
      result?: T;
      error?: { data?: OdooErrorBody & { name?: string } };
    };
    if (body.error) {
      const data = body.error.data ?? {};
      const name = data.name ?? "";
      const status = /AccessDenied|AccessError/.test(name)
        ? 403
        : /MissingError/.test(name)
          ? 404
          : /UserError|ValidationError/.test(name)
            ? 422
            : /LockError|SerializationFailure|concurrent/i.test(name)
              ? 409
              : 500;
      throw errorFromStatus(status, data, `${service}.${method}`);
    }
    return body.result as T;
  }

  async function callJsonRpc<T>(
    model: string,
    method: string,
    kwargs: Record<string, unknown>,
  ): Promise<T> {
    if (!options.login)
      throw new ConfigError("config_error", "Odoo < 19 needs PLANT_BRIDGE_ODOO_LOGIN for JSON-RPC");
    uid ??= await rpc<number | false>("common", "authenticate", [
      options.db,
      options.login,
      apiKey,
      {},
    ]).then((u) => {
      if (!u) throw new ConfigError("odoo_auth", "Odoo rejected the login / API key");
      return u;
    });
    return rpc<T>("object", "execute_kw", [options.db, uid, apiKey, model, method, [], kwargs]);
  }

  return {
    protocol: () => protocol,
    version,
    async healthy(timeoutMs = 3000) {
      try {
        const res = await undiciRequest(`${base}/web/health`, {
          method: "GET",
          dispatcher,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    },
    async call<T>(model: string, method: string, kwargs: Record<string, unknown> = {}) {
      const once = async () =>
        (await chosenProtocol()) === "json2"
          ? callJson2<T>(model, method, kwargs)
          : callJsonRpc<T>(model, method, kwargs);
      const usedKey = apiKey;
      try {
        return await once();
      } catch (err) {
        if (!(err instanceof ConfigError) || err.code !== "odoo_auth") throw err;
        // Refused with a key replaced meanwhile (another call switched): send it with the new
        // one. Refused with the current key: ask for a new one before giving up.
        if (usedKey === apiKey && !(await options.onUnauthorized?.())) throw err;
        if (usedKey === apiKey) throw err;
        return once();
      }
    },
    setApiKey(next: string) {
      if (next === apiKey) return false;
      apiKey = next;
      uid = undefined; // JSON-RPC authenticates again with the new key
      return true;
    },
    async close() {
      await ownAgent?.close();
    },
  };
}

function parseErrorBody(text: string): OdooErrorBody {
  try {
    const body = JSON.parse(text) as OdooErrorBody & { debug?: unknown; context?: unknown };
    // Keep what explains the failure; drop the server traceback (`debug`).
    return { name: body.name, message: body.message, arguments: body.arguments } as OdooErrorBody;
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** Maps an Odoo HTTP status onto the taxonomy (STYLE.md "Errors"). */
export function errorFromStatus(
  status: number,
  body: OdooErrorBody,
  what: string,
): PlantBridgeError {
  const message = `${what}: ${body.message ?? `HTTP ${status}`}`;
  const options = { detail: { status, ...body } };
  if (status === 401) return new ConfigError("odoo_auth", message, options);
  if (status === 403) return new ConfigError("odoo_forbidden", message, options);
  if (status === 404) return new PermanentError("odoo_not_found", message, options);
  if (status === 422 || status === 400)
    return new PermanentError("odoo_rejected", message, options);
  if (status === 409 || status === 429 || status >= 500)
    return new TransientError("odoo_unavailable", message, options);
  return new PlantBridgeError("unexpected", message, { ...options, kind: "unexpected" });
}
