/**
 * What every scheduled legacy pull shares: its run context, its counts, and how a chunk of rows
 * is committed — mapped items and the source's durable state (watermark, file progress) in one
 * `ingest` call, hence one store transaction (ARCHITECTURE.md "Delivery guarantees").
 */
import type { ParsedItem, Source } from "../../canonical/parse.js";
import type { Logger } from "../../logger.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import type { StateWrite } from "../../store/types.js";
import type { RowMapper } from "./rows.js";

export interface PullContext {
  site: string;
  /** IANA time zone of the site (naive legacy timestamps are local time). */
  timezone: string;
  ingestor: Ingestor;
  mapper: RowMapper;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** Aborted when the sidecar stops: a pull ends after its current chunk. */
  signal?: AbortSignal;
  /**
   * Called after rows are read and before they are committed (a test hook: a crash test kills
   * the process there, see PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS).
   */
  afterRead?: (what: string) => Promise<void>;
}

/** What one run of a pull did; reported to Odoo as the schedule's run history. */
export interface PullStats {
  /** Rows read (file lines, table rows, HTTP items). */
  rows: number;
  /** New events committed to the outbox. */
  accepted: number;
  /** Events already in the inbox (a row read again). */
  duplicates: number;
  /** Rows (or files) that became dead letters. */
  rejected: number;
  /** Human-readable notes (files archived, moved to the error folder, pages read...). */
  notes: string[];
}

/** A legacy source, run by the scheduler. */
export interface LegacySource {
  run(ctx: PullContext): Promise<PullStats>;
  close(): Promise<void>;
}

export function emptyStats(): PullStats {
  return { rows: 0, accepted: 0, duplicates: 0, rejected: 0, notes: [] };
}

/** Commits items and state writes in one transaction and counts the outcome. */
export async function commitChunk(
  ctx: PullContext,
  items: ParsedItem[],
  at: { source: Source; origin: string },
  state: StateWrite[],
  stats: PullStats,
): Promise<void> {
  if (items.length === 0 && state.length === 0) return;
  const results = await ctx.ingestor.ingest(items, at, state.length ? { state } : undefined);
  for (const r of results) {
    if (r.status === "accepted") stats.accepted++;
    else if (r.status === "duplicate") stats.duplicates++;
    else stats.rejected++;
  }
}

/**
 * Maps the rows of a chunk together (JSONata evaluations then travel to the sandbox in batches)
 * and keeps their order.
 */
export async function mapRows<T>(
  rows: T[],
  map: (row: T) => Promise<ParsedItem[]>,
): Promise<ParsedItem[]> {
  return (await Promise.all(rows.map(map))).flat();
}
