/**
 * SQL sources on a real PostgreSQL and a real MariaDB as legacy databases: rows of a table that
 * is written while pulls run are stored exactly once, in watermark order; the watermark only
 * moves with committed rows; refused credentials are a config error that never shows the
 * password; hostile values are data.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import type { ProductionEvent } from "../../sidecar/src/canonical/types.js";
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import { openSqlClient, type SqlConnection } from "../../sidecar/src/connectors/sql-client.js";
import { createSqlSource } from "../../sidecar/src/ingress/legacy/sql/sql-source.js";
import type { Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import {
  createTestDatabase,
  MARIADB_TEST_URL,
  randomName,
  serviceAvailable,
} from "../helpers/services.js";
import { legacyHarness, type LegacyHarness } from "../helpers/legacy-harness.js";

const pgUp = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);
const myUp = await serviceAvailable("MariaDB", "127.0.0.1", 3306);

interface LegacyDb {
  connection: SqlConnection;
  exec(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

const dialects: Array<[string, boolean, () => Promise<LegacyDb>]> = [
  [
    "PostgreSQL",
    pgUp,
    async () => {
      const db = await createTestDatabase("pb_legacy");
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      return {
        connection: { driver: "postgres", url: db.url },
        exec: async (sql, params) =>
          void (await client.query(
            sql.replace(/\?/g, (_, i) => `$${countBefore(sql, i)}`),
            params,
          )),
        close: async () => {
          await client.end();
          await db.drop();
        },
      };
    },
  ],
  [
    "MariaDB",
    myUp,
    async () => {
      const conn = await mysql.createConnection({ uri: MARIADB_TEST_URL, charset: "utf8mb4" });
      return {
        connection: { driver: "mysql", url: MARIADB_TEST_URL },
        exec: async (sql, params) => void (await conn.query(sql, params)),
        close: () => conn.end(),
      };
    },
  ],
];

/** `?` → `$n` for the test's own PostgreSQL statements. */
function countBefore(sql: string, index: number): number {
  return sql.slice(0, index + 1).split("?").length - 1;
}

for (const [name, up, open] of dialects) {
  (up ? describe : describe.skip)(`SQL source on ${name}`, () => {
    let db: LegacyDb;
    let h: LegacyHarness;
    let table: string;

    beforeEach(async () => {
      db = await open();
      h = await legacyHarness();
      table = randomName("prod_log");
      const serial =
        name === "PostgreSQL" ? "BIGSERIAL PRIMARY KEY" : "BIGINT AUTO_INCREMENT PRIMARY KEY";
      const ts = name === "PostgreSQL" ? "TIMESTAMP(6)" : "DATETIME(6)";
      await db.exec(
        `CREATE TABLE ${table} (id ${serial}, mo VARCHAR(64) NOT NULL, qty DECIMAL(12,3), booked_at ${ts} NOT NULL, note ${name === "MariaDB" ? "MEDIUMTEXT" : "TEXT"})${name === "MariaDB" ? " DEFAULT CHARSET=utf8mb4" : ""}`,
      );
    });
    afterEach(async () => {
      await db.exec(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await db.close();
      await h.close();
    });

    const query = () =>
      `SELECT id, 'production' AS type, mo AS "order", qty AS quantity, booked_at AS "occurredAt", note AS "attributes.note" FROM ${table}`.replace(
        /"/g,
        name === "MariaDB" ? "`" : '"',
      );

    function source(batchSize = 50) {
      return createSqlSource({
        connectorId: 1,
        client: openSqlClient(db.connection),
        query: query(),
        watermarkColumn: "id",
        keyColumn: "id",
        table,
        batchSize,
        store: h.store,
      });
    }

    it("stores every row of a table written while pulls run exactly once", async () => {
      const total = 400;
      const src = source(40);
      let written = 0;
      const writer = (async () => {
        for (; written < total; written++) {
          await db.exec(`INSERT INTO ${table} (mo, qty, booked_at, note) VALUES (?, ?, ?, ?)`, [
            `WH/MO/${String(written % 7).padStart(5, "0")}`,
            "1.500",
            "2026-11-26 08:00:00.123456",
            `row ${written}`,
          ]);
          if (written % 50 === 0) await new Promise((r) => setTimeout(r, 5));
        }
      })();
      let runs = 0;
      while (written < total || runs === 0) {
        await src.run(h.ctx);
        runs++;
      }
      await writer;
      const last = await src.run(h.ctx);
      await src.close();
      expect(runs).toBeGreaterThan(2);
      const events = (await h.messages()).map((m) => m.event as ProductionEvent);
      expect(events).toHaveLength(total);
      expect(new Set(events.map((e) => e.id)).size).toBe(total);
      expect(events.map((e) => e.id)).toEqual(
        Array.from({ length: total }, (_, i) => `${table}:${i + 1}`),
      );
      expect(events[0]).toMatchObject({
        type: "production",
        order: "WH/MO/00000",
        quantity: 1.5,
        occurredAt: "2026-11-26T08:00:00.123456+01:00",
        attributes: { note: "row 0" },
      });
      expect(last.rows).toBeLessThan(total);
      expect(JSON.parse((await h.store.getState(`legacy.sql.main.c1`))!)).toEqual({
        w: expect.anything(),
        k: expect.anything(),
      });
      // Nothing new: a run reads nothing.
      const src2 = source();
      expect(await src2.run(h.ctx)).toMatchObject({ rows: 0, accepted: 0 });
      await src2.close();
    });

    it("keeps the watermark where it was when the commit fails, and reads the rows again", async () => {
      for (let i = 0; i < 5; i++)
        await db.exec(`INSERT INTO ${table} (mo, qty, booked_at) VALUES (?, 1, ?)`, [
          `WH/MO/0000${i}`,
          "2026-11-26 09:00:00",
        ]);
      const src = source(3);
      const failing: Ingestor = {
        ...h.ingestor,
        ingest: () => Promise.reject(new Error("disk full")),
      };
      await expect(src.run({ ...h.ctx, ingestor: failing })).rejects.toThrow("disk full");
      expect(await h.store.getState("legacy.sql.main.c1")).toBeUndefined();
      expect(await src.run(h.ctx)).toMatchObject({ rows: 5, accepted: 5, duplicates: 0 });
      await src.close();
    });

    it("takes injection-looking and huge values as data, and dead-letters a bad row with its key", async () => {
      const evil = `x'); DROP TABLE ${table}; --`;
      await db.exec(`INSERT INTO ${table} (mo, qty, booked_at, note) VALUES (?, 1, ?, ?)`, [
        evil,
        "2026-11-26 10:00:00",
        "é".repeat(100_000),
      ]);
      await db.exec(`INSERT INTO ${table} (mo, qty, booked_at) VALUES (?, -3, ?)`, [
        "WH/MO/00001",
        "2026-11-26 10:00:00",
      ]);
      await db.exec(`INSERT INTO ${table} (mo, qty, booked_at) VALUES (?, 2, ?)`, [
        "WH/MO/00002",
        "2026-11-26 10:00:00",
      ]);
      const src = source();
      expect(await src.run(h.ctx)).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });
      await src.close();
      expect((await h.messages()).map((m) => (m.event as ProductionEvent).order)).toEqual([
        evil,
        "WH/MO/00002",
      ]);
      const [dead] = await h.deadLetters();
      expect(dead).toMatchObject({ origin: `sql:${table}:2`, code: "bad_quantity", source: "sql" });
      await db.exec(`SELECT 1 FROM ${table}`); // still there
    });

    it("reports refused credentials as a config error without the password", async () => {
      const url = new URL(
        name === "PostgreSQL" ? "postgres://nobody_pb@127.0.0.1:5432/postgres" : MARIADB_TEST_URL,
      );
      url.username = "nobody_pb";
      url.password = "s3cret-Pa55word";
      const client = openSqlClient({ driver: db.connection.driver, url: url.toString() });
      const src = createSqlSource({
        connectorId: 2,
        client,
        query: query(),
        watermarkColumn: "id",
        keyColumn: "id",
        table,
        store: h.store,
      });
      const err = (await src.run(h.ctx).catch((e: unknown) => e)) as PlantBridgeError;
      await src.close();
      expect(err).toBeInstanceOf(PlantBridgeError);
      // trust authentication on the local PostgreSQL lets anybody in: then the role is unknown
      expect(["credentials", "legacy_query"]).toContain(err.code);
      expect(err.message).not.toContain("s3cret-Pa55word");
    });

    it("refuses a query that is not a SELECT and identifiers that are not identifiers", () => {
      const client = openSqlClient(db.connection);
      const make = (q: string, col: string) => () =>
        createSqlSource({
          connectorId: 3,
          client,
          query: q,
          watermarkColumn: col,
          keyColumn: "id",
          table,
          store: h.store,
        });
      expect(make(`DELETE FROM ${table}`, "id")).toThrow(/must be a SELECT/);
      expect(make(`SELECT * FROM ${table}`, "id; DROP TABLE x")).toThrow(/not an identifier/);
      return client.close();
    });

    it("cannot leave the read-only transaction with stacked statements", async () => {
      await db.exec(
        `INSERT INTO ${table} (mo, qty, booked_at) VALUES ('WH/MO/1', 1, '2026-01-01')`,
      );
      const client = openSqlClient(db.connection);
      try {
        // The source wraps its query: a ';' would end the wrapper and start statements of its own.
        expect(() =>
          createSqlSource({
            connectorId: 4,
            client,
            query: `SELECT * FROM ${table}) AS x; COMMIT; DELETE FROM ${table}; SELECT * FROM (SELECT 1`,
            watermarkColumn: "id",
            keyColumn: "id",
            table,
            store: h.store,
          }),
        ).toThrow(/one statement/);
        // And the client runs one statement per call, whatever it is given.
        await expect(
          client.readOnly((q) => q(`SELECT 1; COMMIT; DELETE FROM ${table}`)),
        ).rejects.toThrow();
        const [row] = await client.query(`SELECT count(*) AS n FROM ${table}`);
        expect(Number(row!.n)).toBe(1);
      } finally {
        await client.close();
      }
    });
  });
}
