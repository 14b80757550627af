/**
 * Legacy systems end to end on a real Odoo 19 with MRP demo data and a real PostgreSQL as the
 * legacy database, everything configured in Odoo (connectors, schedules) and run by a real
 * sidecar process: a released MO arrives in a legacy table and as a CSV file and is
 * acknowledged in Odoo with those sinks; a legacy production log pulled on a schedule posts into
 * Odoo once, with its run history in Odoo; a legacy shift total that disagrees with Odoo becomes
 * a reconciliation line whose proposed correction, accepted, fixes the MO.
 */
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { createTestDatabase, randomName, serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/legacy-harness.js";
import { waitFor as waitUntil } from "../helpers/wait.js";

const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000) =>
  waitUntil(what, fn, timeoutMs);

const run = odooAvailable() && (await serviceAvailable("PostgreSQL", "127.0.0.1", 5432));
const SITE = "main";

let odoo: OdooServer;
let legacyDb: { url: string; drop: () => Promise<void> };
let legacy: pg.Client;
let sidecar: SidecarProcess;
let outDir: string;
let totalsDir: string;
let schedules: { pull: number; totals: number };

async function searchRead<T>(model: string, domain: unknown[], fields: string[]): Promise<T[]> {
  return odoo.admin<T[]>(model, "search_read", { domain, fields });
}

/** A confirmed MO; FURN_7800 (Desk Combination) is not tracked, FURN_9666 (Table) by serial. */
async function newConfirmedMo(
  quantity: number,
  product_code = "FURN_7800",
): Promise<{ id: number; name: string }> {
  const [product] = await odoo.admin<number[]>("product.product", "search", {
    domain: [["default_code", "=", product_code]],
  });
  const [id] = await odoo.admin<number[]>("mrp.production", "create", {
    vals_list: [{ product_id: product, product_qty: quantity }],
  });
  await odoo.admin("mrp.production", "action_confirm", { ids: [id] });
  const [mo] = await searchRead<{ name: string }>("mrp.production", [["id", "=", id]], ["name"]);
  return { id: id!, name: mo!.name };
}

(run ? describe : describe.skip)("legacy systems <-> real Odoo 19", () => {
  beforeAll(async () => {
    odoo = await startOdoo();
    legacyDb = await createTestDatabase("pb_legacy_e2e");
    legacy = new pg.Client({ connectionString: legacyDb.url });
    await legacy.connect();
    await legacy.query(
      `CREATE TABLE mes_orders (release_id VARCHAR(200) PRIMARY KEY, type VARCHAR(20), order_name VARCHAR(64),
         product VARCHAR(64), quantity NUMERIC, uom VARCHAR(20), due TIMESTAMPTZ, start_at TIMESTAMPTZ, payload TEXT)`,
    );
    await legacy.query(
      `CREATE TABLE mes_lines (release_id VARCHAR(200), line INT, product VARCHAR(64), quantity NUMERIC,
         uom VARCHAR(20), lots VARCHAR(200), PRIMARY KEY (release_id, line))`,
    );
    await legacy.query(
      "CREATE TABLE prod_log (id BIGSERIAL PRIMARY KEY, mo VARCHAR(64), qty NUMERIC, booked_at TIMESTAMPTZ DEFAULT now())",
    );
    outDir = tempDir("pb-legacy-out-");
    totalsDir = tempDir("pb-legacy-totals-");
    const [site] = await searchRead<{ id: number }>(
      "plant_bridge.site",
      [["code", "=", SITE]],
      ["id"],
    );
    const siteId = site!.id;
    const connectors = await odoo.admin<number[]>("plant_bridge.connector", "create", {
      vals_list: [
        {
          name: "MES order table",
          site_id: siteId,
          kind: "sink_sql",
          params: JSON.stringify({
            driver: "postgres",
            table: "mes_orders",
            linesTable: "mes_lines",
            backoffMs: 100,
          }),
          secrets: JSON.stringify({ url: legacyDb.url }),
        },
        {
          name: "MES order files",
          site_id: siteId,
          kind: "sink_file",
          params: JSON.stringify({ path: outDir, format: "csv" }),
        },
        {
          name: "MES production log",
          site_id: siteId,
          kind: "sql_source",
          params: JSON.stringify({
            driver: "postgres",
            query:
              'SELECT id, \'production\' AS type, mo AS "order", qty AS quantity, booked_at AS "occurredAt" FROM prod_log',
            watermarkColumn: "id",
            keyColumn: "id",
            table: "prod_log",
          }),
          secrets: JSON.stringify({ url: legacyDb.url }),
        },
        {
          name: "MES shift totals",
          site_id: siteId,
          kind: "file_drop",
          params: JSON.stringify({
            path: totalsDir,
            pattern: "totals*.csv",
            purpose: "reconciliation",
            stableSeconds: 0,
          }),
        },
      ],
    });
    const [pull, totals] = await odoo.admin<number[]>("plant_bridge.schedule", "create", {
      vals_list: [
        {
          name: "Production log every second",
          site_id: siteId,
          connector_id: connectors[2],
          cron: "* * * * * *",
        },
        {
          name: "Shift totals every second",
          site_id: siteId,
          connector_id: connectors[3],
          cron: "* * * * * *",
        },
      ],
    });
    schedules = { pull: pull!, totals: totals! };
    sidecar = await startSidecarProcess({
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      PLANT_BRIDGE_SITE: SITE,
      PLANT_BRIDGE_NAME: randomName("legacy-e2e"),
      PLANT_BRIDGE_STORE: join(tempDir("pb-legacy-e2e-"), "store.db"),
      PLANT_BRIDGE_POST_LINGER_MS: "50",
      PLANT_BRIDGE_CONFIG_POLL_SECONDS: "2",
      PLANT_BRIDGE_OUTBOUND_POLL_SECONDS: "1",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
      PLANT_BRIDGE_SPARKPLUG_GROUPS: "none",
      // the file connectors are configured in Odoo: their folders must be inside the roots
      PLANT_BRIDGE_LEGACY_ROOTS: `${outDir},${totalsDir}`,
    });
  }, 900_000);

  afterAll(async () => {
    await sidecar?.kill("SIGTERM");
    await legacy?.end();
    await legacyDb?.drop();
    await odoo?.destroy();
  }, 60_000);

  it("delivers a released MO into a legacy table and as a CSV file, acknowledged in Odoo", async () => {
    const mo = await newConfirmedMo(4, "FURN_9666");
    const key = `order_release:${mo.name}:1`;
    const row = await waitFor("the release in the legacy table", async () => {
      const r = await legacy.query("SELECT * FROM mes_orders WHERE release_id = $1", [key]);
      return r.rows[0] as Record<string, unknown> | undefined;
    });
    expect(row).toMatchObject({ type: "order_release", order_name: mo.name, product: "FURN_9666" });
    expect(Number(row.quantity)).toBe(4);
    const lines = await legacy.query(
      "SELECT product, quantity FROM mes_lines WHERE release_id = $1 ORDER BY line",
      [key],
    );
    expect(lines.rows.length).toBeGreaterThan(0);
    const file = join(outDir, `${key.replace(/[^A-Za-z0-9._-]+/g, "_")}.csv`);
    await waitFor("the release file", async () => (existsSync(file) ? true : undefined));
    const csv = readFileSync(file, "utf8").split("\r\n");
    expect(csv[0]).toMatch(/^release_id;type;order;product;quantity/);
    expect(csv[1]).toContain(`${key};order_release;${mo.name};FURN_9666;4`);
    expect(readdirSync(outDir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    const ack = await waitFor("the acknowledgement in Odoo", async () => {
      const [r] = await searchRead<{ state: string; sink: string }>(
        "plant_bridge.outbound",
        [
          ["production_id", "=", mo.id],
          ["event_type", "=", "order_release"],
        ],
        ["state", "sink"],
      );
      return r?.state === "acknowledged" ? r : undefined;
    });
    expect(ack.sink).toContain("sql:postgres:mes_orders");
    expect(ack.sink).toContain(`file:${outDir}`);
    expect(ack.sink).toContain("mqtt:plant-bridge/v1/main/commands");
  }, 300_000);

  it("pulls a legacy production log into Odoo once, with the run history in Odoo", async () => {
    const mo = await newConfirmedMo(5);
    await legacy.query("INSERT INTO prod_log (mo, qty) VALUES ($1, 2), ($1, 1)", [mo.name]);
    const ids = (
      await legacy.query("SELECT id FROM prod_log WHERE mo = $1 ORDER BY id", [mo.name])
    ).rows.map((r: { id: string }) => `prod_log:${r.id}`);
    const messages = await waitFor("the pulled rows applied in Odoo", async () => {
      const rows = await searchRead<{ key: string; state: string; source: string; origin: string }>(
        "plant_bridge.message",
        [["key", "in", ids]],
        ["key", "state", "source", "origin"],
      );
      return rows.length === 2 && rows.every((r) => r.state === "applied") ? rows : undefined;
    });
    expect(messages.map((m) => m.source)).toEqual(["sql", "sql"]);
    const [production] = await searchRead<{ qty_producing: number }>(
      "mrp.production",
      [["id", "=", mo.id]],
      ["qty_producing"],
    );
    expect(production!.qty_producing).toBe(3);
    const runs = await waitFor("runs in Odoo", async () => {
      const r = await searchRead<{ state: string; rows_accepted: number; sidecar: string }>(
        "plant_bridge.schedule.run",
        [
          ["schedule_id", "=", schedules.pull],
          ["rows_accepted", ">", 0],
        ],
        ["state", "rows_accepted", "sidecar"],
      );
      return r.length ? r : undefined;
    });
    expect(runs.every((r) => r.state === "done")).toBe(true);
    expect(runs.reduce((n, r) => n + r.rows_accepted, 0)).toBeGreaterThanOrEqual(2);
    // more runs go by: nothing is posted twice
    await new Promise((r) => setTimeout(r, 3000));
    const after = await searchRead<{ qty_producing: number }>(
      "mrp.production",
      [["id", "=", mo.id]],
      ["qty_producing"],
    );
    expect(after[0]!.qty_producing).toBe(3);
  }, 300_000);

  it("files a legacy total that disagrees with Odoo as a reconciliation line whose correction fixes the MO", async () => {
    const mo = await newConfirmedMo(6);
    await odoo.admin("plant_bridge.api", "post_events", {
      events: [
        {
          id: randomName("e2e-prod"),
          type: "production",
          site: SITE,
          occurredAt: new Date().toISOString(),
          order: mo.name,
          quantity: 1,
        },
      ],
    });
    const file = join(totalsDir, "totals-shift-a.csv");
    writeFileSync(file, `order,shift,produced,scrapped\n${mo.name},A,4,0\n`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const line = await waitFor("the reconciliation line", async () => {
      const [l] = await searchRead<{
        id: number;
        legacy_qty: number;
        odoo_qty: number;
        difference: number;
        correction: string | false;
        state: string;
        reconciliation_id: [number, string];
      }>(
        "plant_bridge.reconciliation.line",
        [
          ["order", "=", mo.name],
          ["measure", "=", "produced"],
        ],
        ["legacy_qty", "odoo_qty", "difference", "correction", "state", "reconciliation_id"],
      );
      return l;
    });
    expect(line).toMatchObject({ legacy_qty: 4, odoo_qty: 1, difference: 3, state: "open" });
    expect(JSON.parse(line.correction as string)).toEqual({
      type: "production",
      order: mo.name,
      quantity: 3,
      uom: "Units", // in the unit of the move it corrects
    });
    const [rec] = await searchRead<{ source: string; compared_count: number }>(
      "plant_bridge.reconciliation",
      [["id", "=", line.reconciliation_id[0]]],
      ["source", "compared_count"],
    );
    expect(rec!.source).toBe("MES shift totals");
    // the file was taken once Odoo had it
    await waitFor("the totals archived", async () => (existsSync(file) ? undefined : true));

    await odoo.admin("plant_bridge.reconciliation.line", "action_accept", { ids: [line.id] });
    const [fixed] = await searchRead<{ qty_producing: number }>(
      "mrp.production",
      [["id", "=", mo.id]],
      ["qty_producing"],
    );
    expect(fixed!.qty_producing).toBe(4);
    const [accepted] = await searchRead<{ state: string; message_id: [number, string] }>(
      "plant_bridge.reconciliation.line",
      [["id", "=", line.id]],
      ["state", "message_id"],
    );
    expect(accepted!.state).toBe("accepted");
    expect(accepted!.message_id[1]).toBe(`reconciliation:${line.id}`);
    // the run that sent the totals, in the schedule's history
    const runs = await waitFor("the reconciliation run in Odoo", async () => {
      const r = await searchRead<{ state: string; message: string }>(
        "plant_bridge.schedule.run",
        [
          ["schedule_id", "=", schedules.totals],
          ["message", "ilike", "reconciliation #"],
        ],
        ["state", "message"],
      );
      return r.length ? r : undefined;
    });
    expect(runs[0]!.state).toBe("done");
    expect(runs[0]!.message).toContain(`reconciliation #${line.reconciliation_id[0]}`);
  }, 300_000);
});
