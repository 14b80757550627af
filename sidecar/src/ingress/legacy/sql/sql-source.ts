/**
 * SQL source: a configured query on a legacy database, read in keyset order of a watermark
 * column (and a key column to break ties), batch by batch. Each batch is mapped and committed in
 * one store transaction together with the new watermark (`legacy.sql.<site>.c<connector>`,
 * compare-and-set on the old one), so the watermark never runs ahead of the rows it covers: a
 * crash between the read and the commit only reads the same rows again, and their keys
 * (`<table>:<key>`) make them duplicates, never doubles. The query runs in a read-only
 * transaction.
 *
 * The watermark must grow in commit order on the legacy side (an identity column filled by
 * single inserts, a timestamp set at commit): a row committed later with a lower value than one
 * already read is not seen. Rows whose watermark is NULL are never read.
 */
import type { Store } from "../../../store/types.js";
import { ConfigError } from "../../../errors.js";
import { boundedKey, locate, type RowContext } from "../rows.js";
import {
  commitChunk,
  emptyStats,
  mapRows,
  type LegacySource,
  type PullContext,
  type PullStats,
} from "../pull.js";
import type { SqlClient, SqlRow } from "../../../connectors/sql-client.js";

export interface SqlSourceOptions {
  connectorId: number;
  client: SqlClient;
  /** A SELECT; it is wrapped (`SELECT * FROM (<query>) AS src WHERE ...`), so no trailing `;`. */
  query: string;
  watermarkColumn: string;
  keyColumn: string;
  /** Names the rows in keys and origins (`<table>:<key>`). */
  table: string;
  /** Rows per batch (one store transaction each). @default 1000 */
  batchSize?: number;
  /** Most rows one run reads; the next run goes on. @default 100000 */
  maxRowsPerRun?: number;
  /** Where to start without a stored watermark (rows with a greater value are read). */
  initialWatermark?: string | number;
  store: Pick<Store, "getState">;
}

/** The stored position: the last row's watermark and key. */
interface Position {
  w: string | number;
  k: string | number;
}

export function createSqlSource(options: SqlSourceOptions): LegacySource {
  const { client } = options;
  const batchSize = options.batchSize ?? 1000;
  const maxRows = options.maxRowsPerRun ?? 100_000;
  const wm = client.ident(options.watermarkColumn);
  const key = client.ident(options.keyColumn);
  const technical = [options.watermarkColumn, options.keyColumn];
  const inner = options.query.trim().replace(/;+\s*$/, "");
  if (!/^(select|with)\b/i.test(inner))
    throw new ConfigError("config", "the SQL source query must be a SELECT (or WITH ... SELECT)");
  // The query is wrapped; a ';' inside it would end the wrapper and start statements of its own.
  if (inner.includes(";"))
    throw new ConfigError(
      "config",
      "the SQL source query must be one statement: no ';' (give the source a read-only database role too)",
    );

  function statement(
    from: Position | undefined,
    initial: boolean,
  ): { sql: string; params: unknown[] } {
    const p = (n: number) => client.placeholder(n);
    const base = `SELECT * FROM (${inner}) AS src`;
    const order = `ORDER BY ${wm}, ${key} LIMIT ${batchSize}`;
    if (from)
      return {
        sql: `${base} WHERE ${wm} > ${p(1)} OR (${wm} = ${p(2)} AND ${key} > ${p(3)}) ${order}`,
        params: [from.w, from.w, from.k],
      };
    if (initial && options.initialWatermark !== undefined)
      return { sql: `${base} WHERE ${wm} > ${p(1)} ${order}`, params: [options.initialWatermark] };
    return { sql: `${base} WHERE ${wm} IS NOT NULL ${order}`, params: [] };
  }

  async function run(ctx: PullContext): Promise<PullStats> {
    const stats = emptyStats();
    const stateKey = `legacy.sql.${ctx.site}.c${options.connectorId}`;
    let stored = (await options.store.getState(stateKey)) ?? null;
    let position = stored ? (JSON.parse(stored) as Position) : undefined;
    while (stats.rows < maxRows && !ctx.signal?.aborted) {
      const { sql, params } = statement(position, true);
      const rows = await client.readOnly((query) => query(sql, params));
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      const next = positionOf(last);
      await ctx.afterRead?.(
        `sql ${options.table}: ${rows.length} rows after ${stored ?? "the start"}`,
      );
      const receivedAt = (ctx.now ?? Date.now)();
      const items = await mapRows(rows, (row) => {
        const k = String(row[options.keyColumn]);
        const rowCtx: RowContext = {
          site: ctx.site,
          source: "sql",
          origin: `sql:${options.table}:${k}`,
          key: boundedKey(`${options.table}:${k}`),
          timezone: ctx.timezone,
          receivedAt,
          technical,
          bindings: { table: options.table },
        };
        return ctx
          .mapper(row, rowCtx)
          .then((items) => locate(items, `${options.table} ${options.keyColumn}=${k}`));
      });
      const value = JSON.stringify(next);
      await commitChunk(
        ctx,
        items,
        { source: "sql", origin: `sql:${options.table}` },
        [{ key: stateKey, value, expect: stored }],
        stats,
      );
      stats.rows += rows.length;
      stored = value;
      position = next;
      if (rows.length < batchSize) break;
    }
    if (position) stats.notes.push(`watermark ${options.watermarkColumn}=${String(position.w)}`);
    return stats;
  }

  function positionOf(row: SqlRow): Position {
    const w = row[options.watermarkColumn];
    const k = row[options.keyColumn];
    if (w === undefined || k === undefined)
      throw new ConfigError(
        "config",
        `the SQL source query must return its watermark column ${options.watermarkColumn} and key column ${options.keyColumn}`,
      );
    return { w: scalar(w), k: scalar(k) };
  }

  return { run, close: () => client.close() };
}

function scalar(value: unknown): string | number {
  if (typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
