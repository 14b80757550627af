import type { Principal } from "../contracts/http.js";
import type http from "node:http";
import type { Duplex } from "node:stream";
import { GraphQLError, type ExecutionArgs } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../logger.js";
import { bearerToken, type Authenticator } from "./auth.js";
import type { GraphqlApi } from "./graphql.js";

export interface GraphqlWebSocketOptions {
  api: GraphqlApi;
  auth: Authenticator;
  logger: Logger;
  /** Largest message accepted from a client. @default 1048576 */
  maxPayloadBytes?: number;
  /** How often open sockets re-check their token (a revoked token's streams end). @default 30000 */
  recheckMs?: number;
}

export interface GraphqlWebSocket {
  /** Hands an HTTP upgrade of `/graphql` to the WebSocket server. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

type Extra = {
  principal?: Principal;
  token?: string;
};

/**
 * GraphQL over WebSocket (graphql-transport-ws, the graphql-ws library) on the same schema,
 * plugins and limits as HTTP (through yoga's envelop). The bearer token comes in
 * `connectionParams.authorization` (`"Bearer <token>"`) or the upgrade request's Authorization
 * header; without a valid one the socket closes with 4403 before any operation.
 */
export function createGraphqlWebSocket(options: GraphqlWebSocketOptions): GraphqlWebSocket {
  const { api, auth } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes ?? 1024 * 1024,
  });
  const extras = new Map<WebSocket, Extra>();

  const disposable = useServer<Record<string, unknown>, Extra>(
    {
      onConnect(ctx) {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = bearerToken(
          typeof raw === "string" ? raw : ctx.extra.request.headers.authorization,
        );
        const principal = token ? auth.authenticate(token) : undefined;
        if (!principal || !token) return false; // closes 4403 Forbidden
        ctx.extra.principal = principal;
        ctx.extra.token = token;
        extras.set(ctx.extra.socket, ctx.extra);
        return true;
      },
      onClose(ctx) {
        extras.delete(ctx.extra.socket);
      },
      async onSubscribe(ctx, _id, payload) {
        const principal = ctx.extra.principal!;
        const { schema, execute, subscribe, contextFactory, parse, validate } = api.getEnveloped({
          principal,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError("syntax error")];
        }
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(schema, document);
        return errors.length ? errors : args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) =>
        (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
      onError(_ctx, _id, _payload, errors) {
        options.logger.debug({ errors: errors.map((e) => e.message) }, "GraphQL WebSocket error");
      },
    },
    wss,
  );

  const recheck = setInterval(() => {
    for (const [socket, extra] of extras) {
      if (extra.token && !auth.authenticate(extra.token)) {
        socket.close(
          4403,
          `Forbidden: ${auth.refusal?.(extra.token) ?? "token revoked or expired"}`,
        );
        extras.delete(socket);
      }
    }
  }, options.recheckMs ?? 30_000);
  recheck.unref();

  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    },
    async close() {
      clearInterval(recheck);
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
