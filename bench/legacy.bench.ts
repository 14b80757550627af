/**
 * Legacy pulls into the durable store, rows/s, each side by side with a baseline in the same run:
 * - a 100k-row CSV through the file drop source (read, decode, parse, canonical rows, validate,
 *   commit in chunks with the file's progress, archive) vs csv-parse alone reading the same file;
 * - a 100k-row PostgreSQL table through the SQL source (keyset batches in read-only
 *   transactions, canonical rows, commit with the watermark) vs one plain SELECT of the table.
 * The store is SQLite on a temporary file (the embedded default).
 */
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse";
import pg from "pg";
import { createEventChecker } from "../sidecar/src/canonical/parse.js";
import { createFileDropSource } from "../sidecar/src/ingress/legacy/file-drop/file-source.js";
import type { PullContext } from "../sidecar/src/ingress/legacy/pull.js";
import { createCanonicalRowMapper } from "../sidecar/src/ingress/legacy/rows.js";
import { openSqlClient } from "../sidecar/src/connectors/sql-client.js";
import { createSqlSource } from "../sidecar/src/ingress/legacy/sql/sql-source.js";
import { createLogger } from "../sidecar/src/logger.js";
import { createMetrics } from "../sidecar/src/metrics.js";
import { Bus } from "../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../sidecar/src/store/index.js";
import type { Store } from "../sidecar/src/store/types.js";
import { createTestDatabase } from "../test/helpers/services.js";
import { report } from "./lib.js";

const ROWS = Number(process.env.BENCH_LEGACY_ROWS ?? 100_000);
const logger = createLogger({ level: "silent" });

async function context(dir: string): Promise<{ store: Store; ctx: PullContext }> {
  const store = await openStore(join(dir, "store.db"));
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  return {
    store,
    ctx: {
      site: "main",
      timezone: "Europe/Berlin",
      ingestor,
      mapper: createCanonicalRowMapper({ check: createEventChecker() }),
      logger,
    },
  };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function csvBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-legacy-"));
  const drop = join(dir, "drop");
  mkdirSync(drop);
  const lines = ["type;order;quantity;occurredAt;attributes.operator"];
  for (let i = 0; i < ROWS; i++)
    lines.push(
      `production;WH/MO/${String(i % 500).padStart(5, "0")};${1 + (i % 7)};2026-11-26 08:${String(i % 60).padStart(2, "0")}:00;op${i % 13}`,
    );
  const file = join(drop, "counts.csv");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);

  // baseline: csv-parse alone, reading the file and counting records
  let t = process.hrtime.bigint();
  let records = 0;
  for await (const _record of createReadStream(file).pipe(
    parseCsv({ delimiter: ";", from_line: 2 }),
  ))
    records++;
  const baseline = records / seconds(t);

  const { store, ctx } = await context(dir);
  const source = createFileDropSource({
    connectorId: 1,
    dir: drop,
    archiveDir: join(drop, "archive"),
    errorDir: join(drop, "error"),
    patterns: ["*.csv"],
    format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
    stableMs: 0,
    chunkRows: 1000,
    store,
  });
  t = process.hrtime.bigint();
  const stats = await source.run(ctx);
  const value = stats.accepted / seconds(t);
  if (stats.accepted !== ROWS) throw new Error(`file drop stored ${stats.accepted} of ${ROWS}`);
  await ctx.ingestor.flush();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  report({
    name: "legacy-csv-file-drop",
    unit: "rows/s",
    value,
    baseline,
    baselineName: "csv-parse alone reading the file",
    params: { rows: ROWS, chunkRows: 1000, store: "sqlite", bytes: lines.join("\n").length },
  });
}

async function sqlBench(): Promise<void> {
  const db = await createTestDatabase("pb_bench_legacy");
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(
    "CREATE TABLE prod_log (id BIGSERIAL PRIMARY KEY, mo VARCHAR(64), qty NUMERIC(12,3), booked_at TIMESTAMPTZ)",
  );
  await client.query(
    `INSERT INTO prod_log (mo, qty, booked_at)
     SELECT 'WH/MO/' || lpad((g % 500)::text, 5, '0'), 1 + g % 7, '2026-11-26 08:00:00+00'::timestamptz + g * interval '1 second'
     FROM generate_series(1, $1) AS g`,
    [ROWS],
  );
  await client.query("ANALYZE prod_log");
  const query =
    'SELECT id, \'production\' AS type, mo AS "order", qty AS quantity, booked_at AS "occurredAt" FROM prod_log';

  // baseline: one plain SELECT of the same rows
  let t = process.hrtime.bigint();
  const all = await client.query(query);
  const baseline = all.rows.length / seconds(t);

  const dir = mkdtempSync(join(tmpdir(), "pb-bench-legacy-"));
  const { store, ctx } = await context(dir);
  const batchSize = 5000;
  const source = createSqlSource({
    connectorId: 1,
    client: openSqlClient({ driver: "postgres", url: db.url }),
    query,
    watermarkColumn: "id",
    keyColumn: "id",
    table: "prod_log",
    batchSize,
    maxRowsPerRun: ROWS * 2,
    store,
  });
  t = process.hrtime.bigint();
  const stats = await source.run(ctx);
  const value = stats.accepted / seconds(t);
  if (stats.accepted !== ROWS) throw new Error(`SQL source stored ${stats.accepted} of ${ROWS}`);
  await source.close();
  await ctx.ingestor.flush();
  await store.close();
  await client.end();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
  report({
    name: "legacy-sql-pull",
    unit: "rows/s",
    value,
    baseline,
    baselineName: "one plain SELECT of the table (pg)",
    params: { rows: ROWS, batchSize, legacy: "postgresql", store: "sqlite" },
  });
}

export async function run(): Promise<void> {
  await csvBench();
  await sqlBench();
}
