/**
 * Inputs that are bytes (a message payload, a file), kept in regression files as base64, or as
 * `text` when they are UTF-8 and readable.
 */
import type { Saved } from "../harness.js";

export function saveBytes(input: string | Uint8Array): Saved {
  return { base64: Buffer.from(input).toString("base64") };
}

export function loadBytes(saved: Saved): Buffer {
  const s = saved as { base64?: string; text?: string };
  if (s.text !== undefined) return Buffer.from(s.text, "utf8");
  return Buffer.from(s.base64 ?? "", "base64");
}
