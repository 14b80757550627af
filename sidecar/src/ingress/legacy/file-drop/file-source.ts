/**
 * File drop source: each run takes the ready files of a folder (folder.ts), reads their rows
 * (formats.ts), maps them, and commits them in chunks together with the file's progress
 * (`legacy.file.<site>.c<connector>.<sha256>`). Only once the last chunk — and with it the mark
 * "done" — is committed is the file moved to the archive folder; a file that cannot be read at
 * all is recorded as a dead letter, marked "error" and moved to the error folder with a reason
 * file. So a crash at any point loses nothing: a file still in the folder is read again, resumes
 * after its last committed line (or is only moved, when already done), and its rows keep their
 * keys (`file:<checksum>:<line>`, the content's, not the name's), so nothing is posted twice —
 * also when the same file is dropped again later, under any name.
 */
import type { FileFormat } from "../../../contracts/connector-params.js";
import { createHash } from "node:crypto";
import type { ParsedItem } from "../../../canonical/parse.js";
import type { Store } from "../../../store/types.js";
import { locate, rowRejection, type RowContext } from "../rows.js";
import {
  commitChunk,
  emptyStats,
  mapRows,
  type LegacySource,
  type PullContext,
  type PullStats,
} from "../pull.js";
import { decodeFile, FileFormatError, readRecords, type FileRecord } from "./formats.js";
import {
  listReady,
  moveInto,
  readStable,
  writeReason,
  type Candidate,
} from "../../../connectors/folder.js";

export interface FileDropOptions {
  connectorId: number;
  /** Resolved, confined folders. */
  dir: string;
  archiveDir: string;
  errorDir: string;
  patterns: string[];
  format: FileFormat;
  /** @default "utf-8" (XML: the declaration's) */
  encoding?: string;
  /** A file must be unmodified this long before it is read. @default 2000 */
  stableMs?: number;
  /** @default 268435456 (256 MiB) */
  maxFileBytes?: number;
  /** Files taken per run (the rest wait for the next). @default 100 */
  maxFiles?: number;
  /** Rows per store transaction. @default 500 */
  chunkRows?: number;
  store: Pick<Store, "getState">;
}

interface Progress {
  state: "partial" | "done" | "error";
  /** Last line whose row is committed. */
  line: number;
  name: string;
}

export function createFileDropSource(options: FileDropOptions): LegacySource {
  const stableMs = options.stableMs ?? 2000;
  const maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
  const chunkRows = options.chunkRows ?? 500;

  async function run(ctx: PullContext): Promise<PullStats> {
    const stats = emptyStats();
    const now = ctx.now ?? Date.now;
    const { ready, waiting } = await listReady(options.dir, options.patterns, {
      stableMs,
      now: now(),
      limit: options.maxFiles ?? 100,
    });
    if (waiting) stats.notes.push(`${waiting} file(s) not ready yet`);
    for (const file of ready) {
      if (ctx.signal?.aborted) break;
      await processFile(ctx, file, stats);
    }
    return stats;
  }

  async function processFile(ctx: PullContext, file: Candidate, stats: PullStats): Promise<void> {
    let bytes: Buffer | undefined;
    try {
      bytes = await readStable(file, maxFileBytes);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      return failFile(ctx, file, undefined, "too_large", err.message, stats);
    }
    if (!bytes) {
      stats.notes.push(`${file.name}: changed while read, left for the next run`);
      return;
    }
    const sha = createHash("sha256").update(bytes).digest("hex");
    const key = `legacy.file.${ctx.site}.c${options.connectorId}.${sha}`;
    const previous = await options.store.getState(key);
    const progress = previous ? (JSON.parse(previous) as Progress) : undefined;
    if (progress?.state === "done") {
      const to = await moveInto(file.path, options.archiveDir, sha.slice(0, 12));
      stats.notes.push(`${file.name}: committed before, archived as ${to}`);
      return;
    }
    if (progress?.state === "error") {
      const to = await moveInto(file.path, options.errorDir, sha.slice(0, 12));
      await writeReason(to, {
        file: file.name,
        sha256: sha,
        reason: "recorded before (see the dead letter)",
      });
      return;
    }
    let text: string;
    try {
      text = decodeFile(bytes, options.encoding, options.format);
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      return failFile(ctx, file, { sha, key, previous }, "schema", err.message, stats);
    }
    const context = { ctx, file, sha, key, stats };
    let expect = previous ?? null;
    let chunk: FileRecord[] = [];
    try {
      for await (const record of readRecords(text, options.format)) {
        if (progress && record.line <= progress.line) continue;
        chunk.push(record);
        if (chunk.length >= chunkRows) {
          expect = await commitRecords(context, chunk, expect, "partial");
          chunk = [];
          if (ctx.signal?.aborted) return;
        }
      }
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      const state = { sha, key, previous: expect ?? undefined };
      return failFile(ctx, file, state, "schema", err.message, stats);
    }
    await commitRecords(context, chunk, expect, "done");
    const to = await moveInto(file.path, options.archiveDir, sha.slice(0, 12));
    stats.notes.push(`${file.name}: archived as ${to}`);
  }

  async function commitRecords(
    c: { ctx: PullContext; file: Candidate; sha: string; key: string; stats: PullStats },
    records: FileRecord[],
    expect: string | null,
    state: Progress["state"],
  ): Promise<string> {
    const { ctx, file, sha } = c;
    const receivedAt = (ctx.now ?? Date.now)();
    const items = await mapRows(records, (record) => {
      const row: RowContext = {
        site: ctx.site,
        source: "file",
        origin: `file:${file.name}:${record.line}`,
        key: `file:${sha.slice(0, 16)}:${record.line}`,
        timezone: ctx.timezone,
        receivedAt,
        bindings: { file: file.name, line: record.line },
      };
      if ("error" in record)
        return Promise.resolve([
          rowRejection(row, "schema", `line ${record.line}: ${record.error}`, record.raw),
        ]);
      return ctx.mapper(record.row, row).then((items) => locate(items, `line ${record.line}`));
    });
    c.stats.rows += records.length;
    const last = records.length
      ? records[records.length - 1]!.line
      : expect
        ? (JSON.parse(expect) as Progress).line
        : 0;
    const value = JSON.stringify({ state, line: last, name: file.name } satisfies Progress);
    if (records.length)
      await ctx.afterRead?.(`file ${file.name} lines ${records[0]!.line}-${last}`);
    await commitChunk(
      ctx,
      items,
      { source: "file", origin: `file:${file.name}` },
      [{ key: c.key, value, expect }],
      c.stats,
    );
    return value;
  }

  async function failFile(
    ctx: PullContext,
    file: Candidate,
    known: { sha: string; key: string; previous: string | undefined } | undefined,
    code: "schema" | "too_large",
    reason: string,
    stats: PullStats,
  ): Promise<void> {
    // A file too large to read is told apart by name, size and time instead of its checksum.
    const sha =
      known?.sha ??
      createHash("sha256").update(`${file.name}\0${file.size}\0${file.mtimeMs}`).digest("hex");
    const key = known?.key ?? `legacy.file.${ctx.site}.c${options.connectorId}.${sha}`;
    const previous = known ? known.previous : await options.store.getState(key);
    const payload = JSON.stringify({
      file: file.name,
      size: file.size,
      sha256: sha,
      errorFolder: options.errorDir,
    });
    const item: ParsedItem = rowRejection(
      { site: ctx.site, source: "file", origin: `file:${file.name}` },
      code,
      `file ${file.name}: ${reason}`,
      payload,
    );
    const value = JSON.stringify({ state: "error", line: 0, name: file.name } satisfies Progress);
    if (!previous || (JSON.parse(previous) as Progress).state !== "error")
      await commitChunk(
        ctx,
        [item],
        { source: "file", origin: `file:${file.name}` },
        [{ key, value, expect: previous ?? null }],
        stats,
      );
    const to = await moveInto(file.path, options.errorDir, sha.slice(0, 12));
    await writeReason(to, {
      file: file.name,
      sha256: sha,
      code,
      reason,
      at: new Date().toISOString(),
    });
    stats.notes.push(`${file.name}: moved to the error folder (${reason})`);
  }

  return { run, close: async () => undefined };
}
