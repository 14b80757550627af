/**
 * File sink: each release is written as one CSV or XML file in a folder the legacy system reads,
 * atomically — a hidden temporary file in the same folder, synced, then renamed to its final
 * name, and the folder synced — so the reader never sees half a file. The name comes from the
 * release's key with anything but letters, digits, `.`, `_`, `-` replaced, so no release can name
 * a file outside the folder; a release written again (a retry) replaces its file with the same
 * content.
 */
import type { OutboundRow } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import iconv from "iconv-lite";
import { releaseId, toCsv, toXml } from "./release-records.js";

export interface FileSinkOptions {
  /** Resolved, confined folder. */
  dir: string;
  format: "csv" | "xml";
  /** @default "utf-8" */
  encoding?: string;
  /** @default ";" */
  delimiter?: string;
  /** @default true */
  header?: boolean;
  /** Prepended to file names. @default "" */
  prefix?: string;
}

export function createFileSink(options: FileSinkOptions): OutboundSink {
  const encoding = options.encoding ?? "utf-8";
  return {
    name: `file:${options.dir}`,
    async deliver(row: OutboundRow) {
      const text =
        options.format === "xml"
          ? toXml(row, encoding)
          : toCsv(row, { delimiter: options.delimiter ?? ";", header: options.header ?? true });
      const bytes = iconv.encode(text, encoding);
      await mkdir(options.dir, { recursive: true });
      const name = fileName(`${options.prefix ?? ""}${releaseId(row)}`, options.format);
      await writeAtomically(options.dir, name, bytes);
    },
  };
}

/** A file name of letters, digits, `.`, `_`, `-` only, never hidden, at most 200 characters. */
export function fileName(key: string, ext: string): string {
  const safe = key
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._-]+/, "")
    .slice(0, 190);
  return `${safe || "release"}.${ext}`;
}

export async function writeAtomically(dir: string, name: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const folder = await open(dir, "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
