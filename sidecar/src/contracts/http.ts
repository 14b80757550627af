import type * as http from "node:http";

/** Who a bearer token belongs to. */
export interface Principal {
  name: string;
  /** e.g. `admin`, `read:orders`, `write:events`. `admin` implies every scope. */
  scopes: string[];
  /** Sites the token may act on; undefined means every site. */
  sites?: string[];
}

/** A route beside /graphql (e.g. a REST endpoint of another feature). */
export interface HttpRoute {
  /** Exact path, e.g. `/api/v1/mappings/preview`. */
  path: string;
  /** Require a valid bearer token (401 otherwise). @default true */
  auth?: boolean;
  handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: {
      url: URL;
      principal: Principal | undefined;
      readBody: () => Promise<Buffer | undefined>;
    },
  ): Promise<void>;
}
