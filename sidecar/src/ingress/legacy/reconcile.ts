/**
 * Reconciliation: on its schedule, read what the legacy side reports as totals — produced and
 * scrapped quantities per manufacturing order (and shift), lots consumed — and hand them to Odoo
 * (`plant_bridge.api.reconcile`, docs/odoo-api.md). Odoo compares them with its own records and
 * files the differences as reconciliation lines with a proposed correction an operator can
 * accept; so the sidecar needs no read rights on MRP or stock.
 *
 * Rows are read with canonical column names (use SQL aliases or file headers): `order`, `shift`,
 * `shift_start`, `shift_end`, `produced`, `scrapped`, and for consumption `product`, `lot`,
 * `consumed`. A row may carry any of the quantities; rows of one key are summed by Odoo.
 */
import type { FileFormat } from "../../contracts/connector-params.js";
import { createHash } from "node:crypto";
import { ConfigError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { decodeFile, readRecords } from "./file-drop/formats.js";
import { listReady, moveInto, readStable } from "../../connectors/folder.js";
import { emptyStats, type PullStats } from "./pull.js";
import type { LegacyRow } from "./rows.js";
import type { SqlClient } from "../../connectors/sql-client.js";
import { toIsoTimestamp } from "../../canonical/time.js";

export interface ReconcileLine {
  order: string;
  shift?: string;
  shift_start?: string;
  shift_end?: string;
  produced?: number;
  scrapped?: number;
  product?: string;
  lot?: string;
  consumed?: number;
}

export interface ReconcileRequest {
  /** Idempotency key of this comparison (a retried call files nothing twice). */
  key: string;
  source: string;
  lines: ReconcileLine[];
}

export interface ReconcileAnswer {
  reconciliation_id: number;
  compared: number;
  differences: number;
}

export type Reconcile = (site: string, request: ReconcileRequest) => Promise<ReconcileAnswer>;

export interface ReconcileReader {
  /** All rows the legacy side reports now, and what to do once Odoo has them. */
  read(): Promise<{ rows: LegacyRow[]; invalid: number; done: () => Promise<void> }>;
  close(): Promise<void>;
}

export function sqlReconcileReader(
  client: SqlClient,
  query: string,
  maxRows: number,
): ReconcileReader {
  const inner = query.trim().replace(/;+\s*$/, "");
  if (!/^(select|with)\b/i.test(inner))
    throw new ConfigError(
      "config",
      "the reconciliation query must be a SELECT (or WITH ... SELECT)",
    );
  return {
    async read() {
      const rows = await client.readOnly((q) =>
        q(`SELECT * FROM (${inner}) AS src LIMIT ${maxRows}`),
      );
      return { rows, invalid: 0, done: async () => undefined };
    },
    close: () => client.close(),
  };
}

export function fileReconcileReader(options: {
  dir: string;
  archiveDir: string;
  patterns: string[];
  format: FileFormat;
  encoding?: string;
  stableMs: number;
  maxFileBytes: number;
}): ReconcileReader {
  return {
    async read() {
      const { ready } = await listReady(options.dir, options.patterns, {
        stableMs: options.stableMs,
        now: Date.now(),
        limit: 100,
      });
      const rows: LegacyRow[] = [];
      const taken: string[] = [];
      let invalid = 0;
      for (const file of ready) {
        const bytes = await readStable(file, options.maxFileBytes);
        if (!bytes) continue;
        const text = decodeFile(bytes, options.encoding, options.format);
        for await (const record of readRecords(text, options.format)) {
          if ("row" in record) rows.push(record.row);
          else invalid++;
        }
        taken.push(file.path);
      }
      return {
        rows,
        invalid,
        done: async () => {
          for (const path of taken) await moveInto(path, options.archiveDir, String(Date.now()));
        },
      };
    },
    close: async () => undefined,
  };
}

/** Runs one reconciliation: read, normalize, send; the answer's counts become the run's. */
export async function runReconciliation(options: {
  site: string;
  timezone: string;
  source: string;
  reader: ReconcileReader;
  reconcile: Reconcile | undefined;
  logger: Logger;
}): Promise<PullStats> {
  if (!options.reconcile)
    throw new ConfigError(
      "config",
      "reconciliation compares with Odoo: configure PLANT_BRIDGE_ODOO_URL",
    );
  const stats = emptyStats();
  const { rows, invalid, done } = await options.reader.read();
  const lines: ReconcileLine[] = [];
  for (const row of rows) {
    const line = toLine(row, options.timezone);
    if (line) lines.push(line);
    else stats.rejected++;
  }
  stats.rows = rows.length + invalid;
  stats.rejected += invalid;
  if (lines.length === 0) {
    stats.notes.push("nothing to reconcile");
    await done();
    return stats;
  }
  const key = createHash("sha256")
    .update(`${options.site}\0${options.source}\0${JSON.stringify(lines)}`)
    .digest("hex")
    .slice(0, 32);
  const answer = await options.reconcile(options.site, { key, source: options.source, lines });
  await done();
  stats.notes.push(
    `reconciliation #${answer.reconciliation_id}: ${answer.differences} difference(s) in ${answer.compared} compared`,
  );
  if (stats.rejected) stats.notes.push(`${stats.rejected} row(s) without an order or a quantity`);
  return stats;
}

function toLine(row: LegacyRow, timezone: string): ReconcileLine | undefined {
  const text = (v: unknown) =>
    v === null || v === undefined || v === "" ? undefined : String(v).trim();
  const num = (v: unknown) => {
    if (v === null || v === undefined || v === "") return undefined;
    const n =
      typeof v === "number"
        ? v
        : Number(
            String(v)
              .trim()
              .replace(/^([+-]?\d+),(\d+)$/, "$1.$2"),
          );
    return Number.isFinite(n) ? n : Number.NaN;
  };
  const order = text(row.order);
  const line: ReconcileLine = { order: order ?? "" };
  for (const f of ["shift", "product", "lot"] as const) {
    const v = text(row[f]);
    if (v !== undefined) line[f] = v;
  }
  for (const f of ["shift_start", "shift_end"] as const) {
    const v = toIsoTimestamp(row[f], timezone);
    if (typeof v === "string" && v !== "") line[f] = v;
  }
  let quantities = 0;
  for (const f of ["produced", "scrapped", "consumed"] as const) {
    const v = num(row[f]);
    if (v === undefined) continue;
    if (Number.isNaN(v)) return undefined;
    line[f] = v;
    quantities++;
  }
  return order && quantities ? line : undefined;
}
