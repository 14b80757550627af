/**
 * Legacy sinks for releases: files written atomically in their folder whatever the order is
 * called, rows upserted into a legacy table (and its lines) on a real PostgreSQL and MariaDB with
 * parameters only, HTTP POSTs retried with backoff on transient failures and not on permanent
 * ones, and a circuit that opens on a legacy system that stays down.
 */
import type { OutboundRow } from "../../sidecar/src/contracts/odoo-api.js";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import iconv from "iconv-lite";
import mysql from "mysql2/promise";
import pg from "pg";
import { createFileSink } from "../../sidecar/src/egress/file-sink.js";
import { createHttpSink } from "../../sidecar/src/egress/http-sink.js";
import { createLegacySinks } from "../../sidecar/src/egress/legacy-sinks.js";
import { withResilience } from "../../sidecar/src/egress/resilient-sink.js";
import { createSqlSink } from "../../sidecar/src/egress/sql-sink.js";
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import { openSqlClient, type SqlConnection } from "../../sidecar/src/connectors/sql-client.js";
import { createLogger } from "../../sidecar/src/logger.js";
import {
  createTestDatabase,
  MARIADB_TEST_URL,
  randomName,
  serviceAvailable,
} from "../helpers/services.js";
import { tempDir } from "../helpers/legacy-harness.js";

const pgUp = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);
const myUp = await serviceAvailable("MariaDB", "127.0.0.1", 3306);
const logger = createLogger({ level: "silent" });

function release(order = "WH/MO/00012", quantity = 4, n = 1): OutboundRow {
  return {
    id: 100 + n,
    type: n === 1 ? "order_release" : "order_change",
    order,
    created: "2026-11-26T08:00:00+00:00",
    payload: {
      type: n === 1 ? "order_release" : "order_change",
      site: "main",
      id: `${n === 1 ? "order_release" : "order_change"}:${order}:${n}`,
      order,
      product: "FURN_9666",
      quantity,
      uom: "Units",
      due: "2026-11-27T16:00:00+00:00",
      start: "2026-11-26T08:00:00+00:00",
      state: "confirmed",
      components: [
        { product: "FURN_2333", quantity: 4 * quantity, uom: "Units", lots: [] },
        { product: "FURN_8522", quantity, uom: "Units", lots: ["LOT-1", "LOT;2"] },
      ],
      operations: [
        { name: "Assembly", workcenter: "Assembly 1", sequence: 1, duration_expected: 60 },
      ],
    },
  };
}

describe("file sink", () => {
  it("writes one CSV file per release atomically, named from its key, inside its folder", async () => {
    const dir = tempDir();
    const sink = createFileSink({ dir, format: "csv", encoding: "latin1", delimiter: ";" });
    await sink.deliver(release());
    await sink.deliver(release("../../etc/Müller", 2));
    await sink.deliver(release()); // a retry: the same file, the same content
    expect(readdirSync(dir).sort()).toEqual([
      "order_release_.._.._etc_M_ller_1.csv",
      "order_release_WH_MO_00012_1.csv",
    ]);
    const text = readFileSync(join(dir, "order_release_WH_MO_00012_1.csv"), "latin1");
    expect(text.split("\r\n")).toEqual([
      "release_id;type;order;product;quantity;uom;due;start;component;component_quantity;component_uom;lots;" +
        "remaining;priority;origin;produced;backorder;backorder_of;component_operation;reserved",
      "order_release:WH/MO/00012:1;order_release;WH/MO/00012;FURN_9666;4;Units;2026-11-27T16:00:00+00:00;2026-11-26T08:00:00+00:00;FURN_2333;16;Units;;;;;;;;;",
      'order_release:WH/MO/00012:1;order_release;WH/MO/00012;FURN_9666;4;Units;2026-11-27T16:00:00+00:00;2026-11-26T08:00:00+00:00;FURN_8522;4;Units;"LOT-1|LOT;2";;;;;;;;',
      "",
    ]);
    const other = iconv.decode(
      readFileSync(join(dir, "order_release_.._.._etc_M_ller_1.csv")),
      "latin1",
    );
    expect(other).toContain("../../etc/Müller");
  });

  it("writes text that a spreadsheet would take for a formula as text (CSV injection)", async () => {
    const dir = tempDir();
    const sink = createFileSink({ dir, format: "csv", encoding: "utf8", delimiter: ";" });
    const row = release('=HYPERLINK("http://x")', 4);
    row.payload.components = [{ product: "+SUM(A1)", quantity: -2, uom: "@Units", lots: ["-LOT"] }];
    await sink.deliver(row);
    const [file] = readdirSync(dir);
    const [, line] = readFileSync(join(dir, file!), "utf8").split("\r\n");
    const cells = line!.split(";");
    expect(cells[2]).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(cells.slice(8, 12)).toEqual(["'+SUM(A1)", "-2", "'@Units", "'-LOT"]);
  });

  it("writes an XML document with components and operations", async () => {
    const dir = tempDir();
    await createFileSink({ dir, format: "xml" }).deliver(release("WH/MO/<&>"));
    const [name] = readdirSync(dir);
    const xml = readFileSync(join(dir, name!), "utf8");
    expect(xml).toContain('<?xml version="1.0" encoding="UTF-8"?>');
    expect(xml).toContain("<order>WH/MO/&lt;&amp;&gt;</order>");
    expect(xml).toMatch(
      /<component line="2" product="FURN_8522" quantity="4" uom="Units">\s*<lot>LOT-1<\/lot>\s*<lot>LOT;2<\/lot>/,
    );
    expect(xml).toContain(
      '<operation name="Assembly" workcenter="Assembly 1" sequence="1" duration_expected="60"',
    );
  });
});

interface Db {
  connection: SqlConnection;
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const dbs: Array<[string, boolean, () => Promise<Db>]> = [
  [
    "PostgreSQL",
    pgUp,
    async () => {
      const db = await createTestDatabase("pb_sink");
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return {
        connection: { driver: "postgres", url: db.url },
        rows: async (sql) => (await c.query(sql)).rows as Array<Record<string, unknown>>,
        exec: async (sql) => void (await c.query(sql)),
        close: async () => {
          await c.end();
          await db.drop();
        },
      };
    },
  ],
  [
    "MariaDB",
    myUp,
    async () => {
      const c = await mysql.createConnection({
        uri: MARIADB_TEST_URL,
        charset: "utf8mb4",
        dateStrings: true,
      });
      return {
        connection: { driver: "mysql", url: MARIADB_TEST_URL },
        rows: async (sql) => (await c.query(sql))[0] as Array<Record<string, unknown>>,
        exec: async (sql) => void (await c.query(sql)),
        close: () => c.end(),
      };
    },
  ],
];

for (const [name, up, open] of dbs) {
  (up ? describe : describe.skip)(`SQL sink on ${name}`, () => {
    let db: Db;
    let orders: string;
    let lines: string;
    beforeEach(async () => {
      db = await open();
      orders = randomName("mes_orders");
      lines = randomName("mes_lines");
      const ts = name === "PostgreSQL" ? "TIMESTAMPTZ" : "DATETIME";
      const charset = name === "MariaDB" ? " DEFAULT CHARSET=utf8mb4" : "";
      await db.exec(
        `CREATE TABLE ${orders} (release_id VARCHAR(200) PRIMARY KEY, type VARCHAR(20), order_name VARCHAR(200), product VARCHAR(64), quantity DECIMAL(12,3), uom VARCHAR(20), due ${ts}, start_at ${ts}, payload TEXT)${charset}`,
      );
      await db.exec(
        `CREATE TABLE ${lines} (release_id VARCHAR(200), line INT, product VARCHAR(64), quantity DECIMAL(12,3), uom VARCHAR(20), lots VARCHAR(200), PRIMARY KEY (release_id, line))${charset}`,
      );
    });
    afterEach(async () => {
      await db.exec(`DROP TABLE IF EXISTS ${orders}`).catch(() => undefined);
      await db.exec(`DROP TABLE IF EXISTS ${lines}`).catch(() => undefined);
      await db.close();
    });

    it("upserts the release row and its lines, values as parameters", async () => {
      const client = openSqlClient(db.connection);
      const sink = createSqlSink({
        client,
        table: orders,
        linesTable: lines,
        timezone: "Europe/Berlin",
      });
      const evil = "WH/MO/1'); DROP TABLE x; --";
      await sink.deliver(release(evil, 4));
      await sink.deliver(release(evil, 4)); // retried after a lost answer
      const changed = release(evil, 6);
      await sink.deliver(changed); // same key, new quantity: an update in upsert mode
      const rows = await db.rows(`SELECT release_id, order_name, quantity, due FROM ${orders}`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ release_id: `order_release:${evil}:1`, order_name: evil });
      expect(Number(rows[0]!.quantity)).toBe(6);
      // MariaDB DATETIME: the site's local time (Berlin, UTC+1); PostgreSQL: the instant
      if (name === "MariaDB") expect(rows[0]!.due).toBe("2026-11-27 17:00:00");
      else expect((rows[0]!.due as Date).toISOString()).toBe("2026-11-27T16:00:00.000Z");
      const l = await db.rows(`SELECT line, product, quantity, lots FROM ${lines} ORDER BY line`);
      expect(l.map((r) => [r.line, r.product, Number(r.quantity), r.lots])).toEqual([
        [1, "FURN_2333", 24, ""],
        [2, "FURN_8522", 6, "LOT-1|LOT;2"],
      ]);
      await client.close();
    });

    it("leaves the first row in insert mode and reports a missing table as a config error", async () => {
      const client = openSqlClient(db.connection);
      const sink = createSqlSink({ client, table: orders, mode: "insert" });
      await sink.deliver(release("WH/MO/00001", 1));
      await sink.deliver(release("WH/MO/00001", 9));
      const rows = await db.rows(`SELECT quantity FROM ${orders}`);
      expect(rows.map((r) => Number(r.quantity))).toEqual([1]);
      const missing = createSqlSink({ client, table: `${orders}_nope` });
      const err = (await missing.deliver(release()).catch((e: unknown) => e)) as PlantBridgeError;
      expect([err.code, err.retryable]).toEqual(["legacy_query", false]);
      await client.close();
    });
  });
}

describe("HTTP sink with retries", () => {
  let server: Server;
  let url: string;
  let answers: number[];
  let received: Array<{ key: string | undefined; body: Record<string, unknown> }>;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({
          key: req.headers["idempotency-key"] as string,
          body: JSON.parse(body) as Record<string, unknown>,
        });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mes/orders`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    answers = [];
    received = [];
  });

  it("retries 503 with backoff until delivered, with the release key as Idempotency-Key", async () => {
    answers = [503, 503, 201];
    const sink = withResilience(
      createHttpSink({ url, headers: {}, outbound: { allowLoopback: true } }),
      {
        attempts: 3,
        initialDelayMs: 10,
      },
    );
    await sink.deliver(release());
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.key))).toEqual(new Set(["order_release:WH/MO/00012:1"]));
    expect(received[2]!.body).toMatchObject({
      type: "order_release",
      order: "WH/MO/00012",
      quantity: 4,
    });
  });

  it("does not retry a refusal, and opens the circuit on a system that stays down", async () => {
    answers = [422];
    const sink = withResilience(
      createHttpSink({ url, headers: {}, outbound: { allowLoopback: true } }),
      {
        attempts: 3,
        initialDelayMs: 1,
        breakAfter: 2,
        halfOpenAfterMs: 60_000,
      },
    );
    await expect(sink.deliver(release())).rejects.toMatchObject({ code: "sink_refused" });
    expect(received).toHaveLength(1);
    answers = [500, 500, 500, 500, 500, 500];
    await expect(sink.deliver(release())).rejects.toMatchObject({ code: "sink_unavailable" });
    await expect(sink.deliver(release())).rejects.toMatchObject({ code: "sink_unavailable" });
    const before = received.length;
    await expect(sink.deliver(release())).rejects.toMatchObject({ code: "sink_circuit_open" });
    expect(received.length).toBe(before);
  });
});

describe("legacy sinks from connectors", () => {
  it("builds the sinks of a site and turns a bad connector into a failing sink", async () => {
    const dir = tempDir();
    const sinks = createLegacySinks({
      logger,
      baseDir: dir,
      roots: [dir],
      outbound: { allowLoopback: true },
    });
    await sinks.update(
      "main",
      [
        {
          id: 1,
          name: "csv out",
          kind: "sink_file",
          active: true,
          params: { path: "out" },
          secrets: {},
        },
        {
          id: 2,
          name: "escape",
          kind: "sink_file",
          active: true,
          params: { path: "/etc" },
          secrets: {},
        },
        { id: 3, name: "mqtt", kind: "sink_mqtt", active: true, params: {}, secrets: {} },
        { id: 4, name: "off", kind: "sink_http", active: false, params: {}, secrets: {} },
      ],
      "UTC",
    );
    const list = sinks.sinks("main");
    expect(list.map((s) => s.name)).toEqual([`file:${join(dir, "out")}`, "sink_file:escape"]);
    await list[0]!.deliver(release());
    expect(readdirSync(join(dir, "out"))).toEqual(["order_release_WH_MO_00012_1.csv"]);
    await expect(list[1]!.deliver(release())).rejects.toMatchObject({ code: "config" });
    expect(sinks.sinks("other")).toEqual([]);
    await sinks.close();
  });
});
