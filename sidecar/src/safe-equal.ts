import { timingSafeEqual } from "node:crypto";

/** Constant-time comparison of two secrets or digests (false, not a throw, on different lengths). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
