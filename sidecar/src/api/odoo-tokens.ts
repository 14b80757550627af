import type { Principal } from "../contracts/http.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import { createHash } from "node:crypto";
import type { Logger } from "../logger.js";
import type { Authenticator } from "./auth.js";

/** A token as `plant_bridge.api.list_api_tokens` lists it (docs/odoo-api.md): never the token. */
export interface OdooToken {
  name: string;
  /** SHA-256 of the token, hex. */
  hash: string;
  scopes: string[];
  /** null: every site. */
  sites: string[] | null;
  expires_at: string | null;
}

export interface OdooTokensOptions {
  client: Pick<OdooClient, "call">;
  logger: Logger;
  /** How often the list is pulled: the longest a revoked token keeps working. @default 30000 */
  intervalMs?: number;
  /**
   * How long the last list stays in force when Odoo cannot be reached; beyond it every token
   * from Odoo is refused (`token_list_stale`) rather than trusting revocations it may miss.
   * `PLANT_BRIDGE_TOKEN_LIST_MAX_AGE_SECONDS`. @default 300000
   */
  maxAgeMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface OdooTokens extends Authenticator {
  /** Pulls the list now; resolves with the number of valid tokens. */
  refresh(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Bearer tokens managed in Odoo (`plant_bridge.api.token`). The sidecar keeps only their hashes,
 * pulled every `intervalMs`: a token revoked in Odoo stops working within one interval, an
 * expired one at once. While Odoo is unreachable the last list stays in force for at most
 * `maxAgeMs`; after that (or before the first pull) no token from Odoo is accepted.
 */
export function createOdooTokens(options: OdooTokensOptions): OdooTokens {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  let pulledAt: number | undefined;
  let tokens = new Map<string, { principal: Principal; expiresAt: number | null }>();
  let timer: NodeJS.Timeout | undefined;
  let pulling: Promise<number> | undefined;

  async function pull(): Promise<number> {
    const list = await options.client.call<OdooToken[]>("plant_bridge.api", "list_api_tokens");
    const next = new Map<string, { principal: Principal; expiresAt: number | null }>();
    for (const t of list) {
      if (!/^[0-9a-f]{64}$/.test(t.hash)) continue;
      next.set(t.hash, {
        principal: {
          name: `token:${t.name}`.slice(0, 100),
          scopes: t.scopes,
          ...(t.sites !== null && { sites: t.sites }),
        },
        expiresAt: t.expires_at ? Date.parse(t.expires_at) : null,
      });
    }
    tokens = next;
    pulledAt = now();
    return next.size;
  }

  function refresh(): Promise<number> {
    pulling ??= pull().finally(() => (pulling = undefined));
    return pulling;
  }

  const stale = () => pulledAt === undefined || now() - pulledAt > maxAgeMs;

  return {
    authenticate(token) {
      if (stale()) return undefined;
      // Looked up by hash: timing reveals at most something about a hash, not about a token.
      const entry = tokens.get(createHash("sha256").update(token).digest("hex"));
      if (!entry) return undefined;
      if (entry.expiresAt !== null && entry.expiresAt <= now()) return undefined;
      return entry.principal;
    },
    refusal: () => (stale() ? "token_list_stale" : undefined),
    refresh,
    start() {
      const tick = () =>
        void refresh().catch((err: unknown) =>
          options.logger.warn(
            { err: { message: (err as Error).message, code: (err as { code?: string }).code } },
            "API token list pull failed (the last list stays in force up to its maximum age)",
          ),
        );
      tick();
      timer = setInterval(tick, options.intervalMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await pulling?.catch(() => undefined);
    },
  };
}
