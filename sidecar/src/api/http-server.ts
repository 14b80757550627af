import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { bearerToken, type Authenticator } from "./auth.js";
import type { GraphqlApi } from "./graphql.js";

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
  ready: () => { ready: boolean; reasons: string[] };
  /** Largest request body accepted. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Serve the GraphiQL page without a token (its queries still need one). @default false */
  graphiql?: boolean;
}

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** `/graphql` (bearer token), `/metrics` (Prometheus), `/healthz`, `/readyz`. */
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
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    switch (url.pathname) {
      case "/healthz":
        return json(res, 200, { status: "ok", ...options.health() });
      case "/readyz": {
        const r = options.ready();
        return json(res, r.ready ? 200 : 503, {
          status: r.ready ? "ready" : "not ready",
          reasons: r.reasons,
        });
      }
      case "/metrics": {
        await options.refreshMetrics?.();
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
        return;
      }
      case "/graphql":
        return graphql(req, res, url);
      default:
        return json(res, 404, { error: "not found" });
    }
  }

  async function graphql(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const wantsPage = req.method === "GET" && (req.headers.accept ?? "").includes("text/html");
    const token = bearerToken(req.headers.authorization);
    const principal = token ? options.auth.authenticate(token) : undefined;
    if (!principal && !(wantsPage && options.graphiql)) {
      res.setHeader("www-authenticate", 'Bearer realm="plant-bridge"');
      return json(res, 401, {
        errors: [
          {
            message: token ? "invalid or revoked token" : "a bearer token is required",
            extensions: { code: "UNAUTHENTICATED" },
          },
        ],
      });
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) return tooLarge(res, maxBody);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return tooLarge(res, maxBody);
      chunks.push(chunk as Buffer);
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const request = new Request(url, {
      method: req.method ?? "GET",
      headers,
      ...(req.method !== "GET" && req.method !== "HEAD" && { body: Buffer.concat(chunks) }),
    });
    const controller = new AbortController();
    res.on("close", () => controller.abort());
    const response = await api.fetch(request, {
      principal: principal ?? { name: "anonymous", scopes: [] },
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    const reader = response.body.getReader();
    controller.signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
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

function tooLarge(res: http.ServerResponse, max: number): void {
  json(res, 413, {
    errors: [
      { message: `request body exceeds ${max} bytes`, extensions: { code: "PAYLOAD_TOO_LARGE" } },
    ],
  });
}
