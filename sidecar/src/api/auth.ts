import type { Principal } from "../contracts/http.js";
import { createHash, timingSafeEqual } from "node:crypto";

export interface Authenticator {
  /** The principal of a bearer token, or undefined when it is unknown, expired or revoked. */
  authenticate(token: string): Principal | undefined;
  /**
   * Why a token is refused when the reason is not simply "unknown": a stable code such as
   * `token_list_stale`, answered to the client in `extensions.reason`.
   */
  refusal?(token: string): string | undefined;
}

export interface StaticAuthenticatorOptions {
  /** `PLANT_BRIDGE_ADMIN_TOKEN`: a bootstrap admin token. */
  adminToken?: string;
}

/** Compares token digests in constant time; the raw token is never kept or logged. */
export function createStaticAuthenticator(options: StaticAuthenticatorOptions): Authenticator {
  const admin = options.adminToken ? digest(options.adminToken) : undefined;
  return {
    authenticate(token) {
      if (admin && timingSafeEqual(digest(token), admin))
        return { name: "admin", scopes: ["admin"] };
      return undefined;
    },
  };
}

/** Tries each authenticator in turn (the environment's admin token, then tokens managed in Odoo). */
export function chainAuthenticators(...chain: Authenticator[]): Authenticator {
  return {
    authenticate: (token) =>
      chain.reduce<Principal | undefined>((p, a) => p ?? a.authenticate(token), undefined),
    refusal: (token) =>
      chain.reduce<string | undefined>((r, a) => r ?? a.refusal?.(token), undefined),
  };
}

export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+([\x21-\x7e]{1,512})\s*$/i.exec(header ?? "");
  return match?.[1];
}

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.includes("admin") || principal.scopes.includes(scope);
}

export function maySite(principal: Principal, site: string): boolean {
  return principal.sites === undefined || principal.sites.includes(site);
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
