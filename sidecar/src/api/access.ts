import type { Principal } from "../contracts/http.js";
import { hasScope, maySite } from "./auth.js";
import { forbidden } from "./errors.js";

/** Scopes a token may carry (the same list as the Odoo token model). `admin` implies all. */
export const SCOPES = [
  "read:orders",
  "read:workcenters",
  "read:lots",
  "read:quality",
  "read:maintenance",
  "read:messages",
  "read:health",
  "read:machines",
  "write:events",
  "admin",
] as const;

export type Scope = (typeof SCOPES)[number];

export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) throw forbidden(`this token lacks the ${scope} scope`);
}

/**
 * The one site a request acts on: the asked site (which the token must allow), else the token's
 * only site, else the sidecar's default site (which the token must allow).
 */
export function siteFor(principal: Principal, asked: string | null | undefined, fallback: string) {
  const site = asked ?? (principal.sites?.length === 1 ? principal.sites[0]! : fallback);
  if (!maySite(principal, site)) throw forbidden(`this token may not act on site ${site}`);
  return site;
}

/** A site filter for sidecar-local lists: undefined means every site the token may see. */
export function siteFilter(principal: Principal, asked: string | null | undefined) {
  if (asked != null && !maySite(principal, asked))
    throw forbidden(`this token may not read site ${asked}`);
  return asked ?? (principal.sites?.length === 1 ? principal.sites[0] : undefined);
}
