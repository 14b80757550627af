/**
 * PostgreSQL `text` cannot hold U+0000 (SQLite can), yet bad input may carry it: an invalid
 * payload, an error message quoting it, an order name. One such string must not fail the whole
 * ingest transaction and wedge the queue behind it, so identifiers and messages get U+FFFD in
 * its place, and a payload holding it is kept as base64 of its UTF-8 bytes (lossless).
 */
const NUL = /\0/g;

export function pgText(value: string): string;
export function pgText(value: string | null | undefined): string | null;
export function pgText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.includes("\0") ? value.replace(NUL, "\uFFFD") : value;
}

export function pgPayload(
  payload: string,
  encoding: "utf8" | "base64",
): { payload: string; encoding: "utf8" | "base64" } {
  if (encoding === "utf8" && payload.includes("\0")) {
    return { payload: Buffer.from(payload, "utf8").toString("base64"), encoding: "base64" };
  }
  return { payload, encoding };
}
