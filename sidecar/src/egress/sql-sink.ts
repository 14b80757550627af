/**
 * SQL sink: each release becomes a row of a legacy table (and, optionally, its components rows of
 * a lines table), in one transaction. `upsert` (the default) updates the row of a release key
 * sent again (an order_change of the same key, a retry after a lost answer); `insert` leaves it
 * as first written. Every value travels as a parameter; table and column names are checked
 * identifiers. The key column needs a unique index on the legacy side.
 */
import type { OutboundRow } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import { ConfigError } from "../errors.js";
import { checkIdentifier, type SqlClient } from "../connectors/sql-client.js";
import { offsetOf } from "../canonical/time.js";
import { headerOf, linesOf, type ReleaseHeader, type ReleaseLine } from "./release-records.js";

export type HeaderField = keyof ReleaseHeader | "payload";

export const DEFAULT_COLUMNS: Partial<Record<HeaderField, string>> = {
  release_id: "release_id",
  type: "type",
  order: "order_name",
  product: "product",
  quantity: "quantity",
  uom: "uom",
  due: "due",
  start: "start_at",
  payload: "payload",
};

export const DEFAULT_LINE_COLUMNS: Partial<Record<keyof ReleaseLine, string>> = {
  release_id: "release_id",
  line: "line",
  product: "product",
  quantity: "quantity",
  uom: "uom",
  lots: "lots",
};

export interface SqlSinkOptions {
  client: SqlClient;
  table: string;
  /** Field → legacy column; `release_id` is required (the key). @default DEFAULT_COLUMNS */
  columns?: Partial<Record<HeaderField, string>>;
  /** @default "upsert" */
  mode?: "upsert" | "insert";
  linesTable?: string;
  lineColumns?: Partial<Record<keyof ReleaseLine, string>>;
  /**
   * How `due` and `start` are written: `iso` (with offset: PostgreSQL timestamptz), `local`
   * (naive, in `timezone`: DATETIME columns of MySQL / MariaDB), `utc` (naive, UTC).
   * @default "iso" on PostgreSQL, "local" on MySQL / MariaDB
   */
  timestamps?: "iso" | "local" | "utc";
  /** @default "UTC" */
  timezone?: string;
}

export function createSqlSink(options: SqlSinkOptions): OutboundSink {
  const { client } = options;
  const columns = options.columns ?? DEFAULT_COLUMNS;
  const keyColumn = columns.release_id;
  if (!keyColumn)
    throw new ConfigError("config", "SQL sink: columns.release_id (the key column) is required");
  for (const c of Object.values(columns)) checkIdentifier(c!, "column");
  const table = client.ident(options.table);
  const lineColumns = options.lineColumns ?? DEFAULT_LINE_COLUMNS;
  const linesTable = options.linesTable ? client.ident(options.linesTable) : undefined;
  const lineKey = lineColumns.release_id;
  if (linesTable && !lineKey)
    throw new ConfigError("config", "SQL sink: lineColumns.release_id is required");
  const mode = options.mode ?? "upsert";
  const timestamps = options.timestamps ?? (client.driver === "postgres" ? "iso" : "local");
  const timezone = options.timezone ?? "UTC";
  const fields = Object.keys(columns) as HeaderField[];

  function values(row: OutboundRow): unknown[] {
    const h = headerOf(row);
    return fields.map((f) => {
      if (f === "payload") return JSON.stringify({ ...row.payload, type: row.type });
      const v = h[f];
      return f === "due" || f === "start" ? timestamp(v as string | null) : v;
    });
  }

  function timestamp(iso: string | null): string | null {
    if (!iso || timestamps === "iso") return iso;
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    const offset = timestamps === "utc" ? 0 : offsetOf(ms, timezone);
    return new Date(ms + offset * 60_000)
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$|Z$/, "");
  }

  function insertSql(): string {
    const p = (n: number) => client.placeholder(n);
    const cols = fields.map((f) => client.ident(columns[f]!));
    const base = `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((_, i) => p(i + 1)).join(", ")})`;
    const others = cols.filter((_, i) => fields[i] !== "release_id");
    if (client.driver === "postgres") {
      const key = client.ident(keyColumn!);
      return mode === "upsert" && others.length
        ? `${base} ON CONFLICT (${key}) DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}`
        : `${base} ON CONFLICT (${key}) DO NOTHING RETURNING 1 AS inserted`;
    }
    return mode === "upsert" && others.length
      ? `${base} ON DUPLICATE KEY UPDATE ${others.map((c) => `${c} = VALUES(${c})`).join(", ")}`
      : `INSERT IGNORE${base.slice("INSERT".length)}`;
  }

  const sql = insertSql();
  return {
    name: `sql:${client.driver}:${options.table}`,
    async deliver(row) {
      await client.transaction(async (query) => {
        const result = await query(sql, values(row));
        // `insert` mode: a key already there was delivered before; its lines too.
        const inserted =
          mode === "upsert" ||
          (client.driver === "mysql"
            ? Number(result[0]?.affectedRows ?? 0) > 0
            : result.length > 0);
        if (!linesTable || !inserted) return;
        const lineFields = Object.keys(lineColumns) as Array<keyof ReleaseLine>;
        const p = (n: number) => client.placeholder(n);
        if (mode === "upsert")
          await query(`DELETE FROM ${linesTable} WHERE ${client.ident(lineKey!)} = ${p(1)}`, [
            headerOf(row).release_id,
          ]);
        const cols = lineFields.map((f) => client.ident(lineColumns[f]!));
        const insert = `INSERT INTO ${linesTable} (${cols.join(", ")}) VALUES (${cols.map((_, i) => p(i + 1)).join(", ")})`;
        for (const line of linesOf(row))
          await query(
            insert,
            lineFields.map((f) => line[f]),
          );
      });
    },
  };
}
