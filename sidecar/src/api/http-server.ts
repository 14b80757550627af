import type { HttpRoute } from "../contracts/http.js";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { listen } from "../listen.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { bearerToken, type Authenticator } from "./auth.js";
import type { GraphqlApi } from "./graphql.js";
import type { GraphqlWebSocket } from "./ws.js";

export interface HttpServerOptions {
  port: number;
  /** @default "127.0.0.1" */
  host?: string;
  api: GraphqlApi;
  auth: Authenticator;
  metrics: Metrics;
  logger: Logger;
  /** Refreshes gauges (outbox depth, dead letters) before /metrics is rendered. */
  refreshMetrics?: () => Promise<void>;
  /** Liveness details; the process answering is the main fact. */
  health: () => Record<string, unknown>;
  /** Ready = store open and configuration loaded (or the embedded default applies). */
  ready: () => { ready: boolean; reasons: string[]; ingest?: "owner" | "standby" };
  /** Largest request body accepted. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Serve the GraphiQL page without a token (its queries still need one). @default false */
  graphiql?: boolean;
  /** GraphQL over WebSocket on `/graphql` (upgrade requests). @default none */
  websocket?: GraphqlWebSocket;
  /** More routes; `readBody` in their context applies the same size limit (undefined: 413 sent). */
  extraRoutes?: HttpRoute[];
  /** How often a streaming response (SSE subscription) re-checks its token. @default 30000 */
  recheckMs?: number;
  /**
   * Bytes a streaming response (SSE subscription) may have waiting for a slow reader; beyond
   * it the stream is closed (the client may reconnect and re-read what it missed) instead of
   * buffering without bound. @default 1048576 (1 MiB)
   */
  maxStreamBufferBytes?: number;
  /** Open connections at once; more are refused at once. @default 1000 */
  maxConnections?: number;
}

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `/graphql` (bearer token; also WebSocket upgrades), `/metrics` (Prometheus), `/healthz`,
 * `/readyz`, and any `extraRoutes`. The token is checked before anything reaches yoga.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { api, metrics, logger } = options;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, "HTTP handler failed");
      if (!res.headersSent) json(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  // Bounds receiving a request (slow clients), not streaming an answer (SSE subscriptions).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxConnections = options.maxConnections ?? 1000;
  const maxStreamBuffer = options.maxStreamBufferBytes ?? 1024 * 1024;
  server.on("upgrade", (req, socket, head) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/graphql" && options.websocket) {
      options.websocket.handleUpgrade(req, socket, head);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    }
  });
  const routes = new Map((options.extraRoutes ?? []).map((r) => [r.path, r]));

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    switch (url.pathname) {
      case "/healthz":
        return json(res, 200, { status: "ok", ...publicHealth(options.health()) });
      case "/readyz": {
        const r = options.ready();
        return json(res, r.ready ? 200 : 503, {
          status: r.ready ? "ready" : "not ready",
          reasons: r.reasons,
          ...(r.ingest && { ingest: r.ingest }),
        });
      }
      case "/metrics": {
        // Gauges read from the store keep their last values when it cannot answer: the
        // counters that tell why (store failures, input held back) must still be scraped.
        await options
          .refreshMetrics?.()
          .catch((err: unknown) =>
            logger.warn({ err }, "metrics: the store's gauges could not be refreshed"),
          );
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      case "/graphql":
        return graphql(req, res, url);
      default: {
        const route = routes.get(url.pathname);
        if (!route) return json(res, 404, { error: "not found" });
        const token = bearerToken(req.headers.authorization);
        const principal = token ? options.auth.authenticate(token) : undefined;
        if (!principal && route.auth !== false)
          return unauthorized(res, token, token && options.auth.refusal?.(token));
        return route.handle(req, res, { url, principal, readBody: () => readBody(req, res) });
      }
    }
  }

  /** The request body within the size limit; undefined when 413 was answered. */
  async function readBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<Buffer<ArrayBuffer> | undefined> {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) return void tooLarge(res, maxBody);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return void tooLarge(res, maxBody);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async function graphql(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const wantsPage = req.method === "GET" && (req.headers.accept ?? "").includes("text/html");
    const token = bearerToken(req.headers.authorization);
    const principal = token ? options.auth.authenticate(token) : undefined;
    if (!principal && !(wantsPage && options.graphiql))
      return unauthorized(res, token, token && options.auth.refusal?.(token));
    const body = await readBody(req, res);
    if (!body) return;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const request = new Request(url, {
      method: req.method ?? "GET",
      headers,
      ...(req.method !== "GET" && req.method !== "HEAD" && { body }),
    });
    const controller = new AbortController();
    res.on("close", () => controller.abort());
    // A long stream (SSE) ends when its token is revoked or expires.
    const recheck =
      token &&
      setInterval(() => {
        if (!options.auth.authenticate(token)) controller.abort();
      }, options.recheckMs ?? 30_000);
    if (recheck) recheck.unref();
    res.on("close", () => recheck && clearInterval(recheck));
    const response = await api.fetch(request, {
      principal: principal ?? { name: "anonymous", scopes: [] },
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    const reader = response.body.getReader();
    controller.signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined));
    const stream = (response.headers.get("content-type") ?? "").includes("text/event-stream");
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
        if (stream && res.writableLength > maxStreamBuffer) {
          // a reader that does not keep up: its stream ends, the sidecar's memory stays bounded
          metrics.streamsDropped.inc({ reason: "slow_consumer" });
          logger.warn(
            { client: principal?.name, waitingBytes: res.writableLength },
            "a subscription stream fell behind its reader and was closed",
          );
          controller.abort();
          res.destroy();
          break;
        }
      }
    } finally {
      if (recheck) clearInterval(recheck);
      res.end();
    }
  }

  await listen(server, {
    port: options.port,
    host: options.host ?? "127.0.0.1",
    what: "the HTTP API (GraphQL, /metrics, /healthz, /readyz)",
    fix: "set PLANT_BRIDGE_HTTP_PORT to a free port (or stop the other program, maybe another sidecar)",
  });
  const address = server.address() as AddressInfo;
  logger.info(
    { host: address.address, port: address.port },
    "HTTP API listening (/graphql, /metrics, /healthz, /readyz)",
  );
  return {
    port: address.port,
    url: `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      await options.websocket?.close();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

const REFUSALS: Record<string, string> = {
  token_list_stale:
    "API tokens cannot be checked: the token list from Odoo is older than its maximum age (Odoo unreachable)",
};

function unauthorized(res: http.ServerResponse, token: string | undefined, reason?: string): void {
  res.setHeader("www-authenticate", 'Bearer realm="plant-bridge"');
  json(res, 401, {
    errors: [
      {
        message: reason
          ? (REFUSALS[reason] ?? reason)
          : token
            ? "invalid or revoked token"
            : "a bearer token is required",
        extensions: { code: "UNAUTHENTICATED", ...(reason && { reason }) },
      },
    ],
  });
}

function tooLarge(res: http.ServerResponse, max: number): void {
  json(res, 413, {
    errors: [
      { message: `request body exceeds ${max} bytes`, extensions: { code: "PAYLOAD_TOO_LARGE" } },
    ],
  });
}

/**
 * What `/healthz` (no token) may tell: states, never text from Odoo or the store (an error
 * message can name hosts, users, even a password a driver echoed). The full status is in the
 * authenticated GraphQL `sidecar` query and in the logs.
 */
function publicHealth(health: Record<string, unknown>): Record<string, unknown> {
  const posting = health.posting as Record<string, unknown> | null | undefined;
  if (!posting) return health;
  const rest = { ...posting };
  const paused = rest.paused;
  delete rest.lastError;
  return {
    ...health,
    posting: { ...rest, paused: paused !== null && paused !== undefined },
  };
}
