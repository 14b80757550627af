import { createHmac, type Hmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/**
 * The signature scheme of signed webhooks (README "Signed webhooks"), the one GitHub and Stripe
 * users know: `X-Plant-Bridge-Signature: sha256=<hex>` is the HMAC-SHA256, keyed with the shared
 * secret, of `<X-Plant-Bridge-Timestamp>.<raw body>`; the timestamp is Unix seconds. Signing the
 * timestamp with the body is what lets the receiver refuse an old request played again.
 */
export const TIMESTAMP_HEADER = "x-plant-bridge-timestamp";
export const SIGNATURE_HEADER = "x-plant-bridge-signature";
/** Optional: names the sender when a site gives some senders secrets of their own. */
export const SOURCE_HEADER = "x-plant-bridge-source";

/** The two headers as sent, checked for shape only (not yet for authenticity). */
export interface SignatureClaim {
  /** Unix seconds, as signed. */
  timestamp: string;
  /** The 32 bytes of the claimed HMAC. */
  digest: Buffer;
}

const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * The claim in the request's headers, or why there is none. A repeated header arrives joined
 * with ", " (or as an array) and fails the shape check like any other malformed value.
 */
export function readClaim(headers: IncomingHttpHeaders): SignatureClaim | { problem: string } {
  const timestamp = headers[TIMESTAMP_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (typeof timestamp !== "string" || !TIMESTAMP.test(timestamp))
    return { problem: "missing or malformed X-Plant-Bridge-Timestamp header (Unix seconds)" };
  const hex = typeof signature === "string" ? SIGNATURE.exec(signature)?.[1] : undefined;
  if (hex === undefined)
    return { problem: "missing or malformed X-Plant-Bridge-Signature header (sha256=<64 hex>)" };
  return { timestamp, digest: Buffer.from(hex, "hex") };
}

/** An HMAC over `<timestamp>.` to which the body is fed as it streams in. */
export function signatureHmac(secret: string, timestamp: string): Hmac {
  return createHmac("sha256", secret).update(`${timestamp}.`);
}

/** `sha256=<hex>` for a body: what a sender puts in X-Plant-Bridge-Signature. */
export function sign(secret: string, timestamp: string | number, body: string | Buffer): string {
  const hmac = signatureHmac(secret, String(timestamp)).update(body);
  return `sha256=${hmac.digest("hex")}`;
}

export interface ReplayGuardOptions {
  /** Accepted distance between a request's timestamp and the clock, in seconds. */
  toleranceSeconds: number;
  /** Most signatures remembered; beyond, the oldest are forgotten first. @default 100000 */
  maxEntries?: number;
  /** @default Date.now */
  now?: () => number;
}

export interface ReplayGuard {
  /** Why this timestamp cannot be accepted now, or undefined when it is within tolerance. */
  stale(timestamp: string): string | undefined;
  /** Claims a signature once; false when it was already claimed within its window. */
  claim(signature: Buffer, timestamp: string): boolean;
  /** Gives a claim back (the request was not committed: the sender may send it again). */
  release(signature: Buffer): void;
}

/**
 * Remembers the authentic signatures of the last tolerance window, in memory: a request replayed
 * within the window is refused, one replayed later fails the timestamp check. Bounded by
 * `maxEntries` (only authentic requests reach it). A restart, or another sidecar behind the same
 * load balancer, does not share it: the idempotency key (site + event id) still stores each event
 * once; this guard is a defence in depth that makes a replay visible as `replayed`.
 */
export function createReplayGuard(options: ReplayGuardOptions): ReplayGuard {
  const now = options.now ?? Date.now;
  const toleranceMs = options.toleranceSeconds * 1000;
  const maxEntries = options.maxEntries ?? 100_000;
  /** signature hex → epoch ms after which its timestamp is stale anyway. */
  const seen = new Map<string, number>();

  function prune(at: number): void {
    for (const [key, expires] of seen) if (expires < at) seen.delete(key);
    for (const key of seen.keys()) {
      if (seen.size < maxEntries) break;
      seen.delete(key);
    }
  }

  return {
    stale(timestamp) {
      const skew = now() - Number(timestamp) * 1000;
      if (Math.abs(skew) <= toleranceMs) return undefined;
      return `timestamp ${timestamp} is ${Math.round(Math.abs(skew) / 1000)} s in the ${skew > 0 ? "past" : "future"}, beyond the tolerance of ${options.toleranceSeconds} s`;
    },
    claim(signature, timestamp) {
      const key = signature.toString("hex");
      const at = now();
      const expires = seen.get(key);
      if (expires !== undefined && expires >= at) return false;
      seen.delete(key); // re-inserted last: the Map's order is the order of forgetting
      if (seen.size >= maxEntries) prune(at);
      seen.set(key, Number(timestamp) * 1000 + toleranceMs);
      return true;
    },
    release(signature) {
      seen.delete(signature.toString("hex"));
    },
  };
}
