/**
 * Legacy rows are first-class mapped sources on the whole sidecar in-process (embedded broker,
 * SQLite, Odoo offline; mappings from PLANT_BRIDGE_MAPPINGS, a file drop and its schedule from
 * PLANT_BRIDGE_LEGACY): a CSV dropped for a mapping with a shadow version posts only what the
 * active version maps, the shadow comparisons are served by `GET /api/v1/mappings/shadow`, and
 * the rows are recent samples of their connector in `GET /api/v1/samples` and, with their
 * columns, in `GET /api/v1/samples/rows` (rows of a connector without a mapping too).
 */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../sidecar/src/config.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSidecar, type Sidecar } from "../../sidecar/src/main.js";

const TOKEN = "legacy-mapping-api-token-0123456789";
const EXPRESSION = `{"order": AUFTRAG, "quantity": $number(MENGE), "occurredAt": ZEIT}`;
let sidecar: Sidecar;
let inbox: string;
let raw: string;

async function get(path: string, token = TOKEN) {
  const res = await fetch(`${sidecar.http.url}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-legacy-mapping-api-"));
  inbox = join(dir, "in");
  mkdirSync(inbox);
  raw = join(dir, "raw");
  mkdirSync(raw);
  writeFileSync(
    join(dir, "mappings.json"),
    JSON.stringify([
      {
        id: 1,
        name: "MES export",
        selector: "*.csv",
        event_type: "production",
        expression: EXPRESSION,
      },
      {
        id: 2,
        origin_id: 1,
        version: 2,
        state: "shadow",
        name: "MES export",
        selector: "*.csv",
        event_type: "production",
        // the next version rounds quantities: different for 2.5, the same for 3
        expression: EXPRESSION.replace("$number(MENGE)", "$round($number(MENGE))"),
      },
    ]),
  );
  writeFileSync(
    join(dir, "legacy.json"),
    JSON.stringify({
      connectors: [
        {
          id: 4,
          name: "MES export",
          kind: "file_drop",
          params: { path: inbox, pattern: "*.csv", delimiter: ";", stableSeconds: 0 },
        },
        {
          id: 6,
          name: "Quality export",
          kind: "file_drop",
          params: { path: raw, pattern: "*.csv", delimiter: ";", stableSeconds: 0 },
        },
      ],
      // the test runs it by hand
      schedules: [
        { id: 1, name: "MES export", connector: 4, mapping: 1, cron: "0 0 1 1 *" },
        { id: 2, name: "Quality export", connector: 6, cron: "0 0 1 1 *" },
      ],
    }),
  );
  sidecar = await startSidecar({
    config: loadConfig({
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_HTTP_PORT: "0",
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
      PLANT_BRIDGE_MAPPINGS: join(dir, "mappings.json"),
      PLANT_BRIDGE_LEGACY: join(dir, "legacy.json"),
      PLANT_BRIDGE_NAME: "legacy-mapping-api-test",
    }),
    logger: createLogger({ level: "silent" }),
  });
});

afterAll(() => sidecar.stop());

describe("legacy rows through a mapping with a shadow version", () => {
  it("posts the active version only, serves the shadow comparisons and the rows as samples", async () => {
    writeFileSync(
      join(inbox, "mes.csv"),
      "AUFTRAG;MENGE;ZEIT\nWH/MO/00001;2.5;2026-11-26T08:00:00Z\nWH/MO/00002;3;2026-11-26T08:05:00Z\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(inbox, "mes.csv"), old, old);
    await sidecar.legacy.scheduler.trigger("file:main/schedule/1");

    const stored = await sidecar.store.listMessages({ site: "main" });
    const events = stored.map((m) => m.event as { id: string; order: string; quantity: number });
    expect(
      events
        .map((e) => [e.order, e.quantity])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual([
      ["WH/MO/00001", 2.5],
      ["WH/MO/00002", 3],
    ]);
    expect(events.every((e) => e.id.startsWith("f1-"))).toBe(true);

    const shadow = await get("/api/v1/mappings/shadow?mapping=2");
    expect(shadow.status).toBe(200);
    expect(
      shadow.body.comparisons
        .map(
          (c: {
            topic: string;
            active: { version: number };
            equal: boolean;
            differences: string[];
          }) => [c.topic, c.active.version, c.equal, c.differences],
        )
        .sort((a: string[], b: string[]) => a[0]!.localeCompare(b[0]!)),
    ).toEqual([
      ["file:mes.csv:2", 1, false, ["$[0].quantity"]],
      ["file:mes.csv:3", 1, true, []],
    ]);
    const mappings = await get("/api/v1/mappings");
    expect(mappings.body.shadow).toEqual([
      { mappingId: 2, site: "main", version: 2, compared: 2, equal: 1, different: 1, errors: 0 },
    ]);

    // a connector keeps its last rows, every row of a file read at once
    const byConnector = await get("/api/v1/samples?connector=4");
    expect(byConnector.body.samples).toHaveLength(2);
    expect(byConnector.body.samples[0]).toEqual(
      expect.objectContaining({
        topic: "file:mes.csv:3",
        source: "file",
        connectorId: 4,
        connector: "MES export",
        site: "main",
        encoding: "utf8",
      }),
    );
    expect(JSON.parse(byConnector.body.samples[1].payload)).toEqual({
      AUFTRAG: "WH/MO/00001",
      MENGE: "2.5",
      ZEIT: "2026-11-26T08:00:00Z",
    });
    expect(byConnector.body.topics).toEqual([
      expect.objectContaining({ topic: "legacy:main:4", samples: 2, connectorId: 4 }),
    ]);
    // the mapping's selector finds them too; another connector or glob does not
    expect((await get("/api/v1/samples?selector=*.csv")).body.samples).toHaveLength(2);
    expect((await get("/api/v1/samples?selector=*.xml")).body.samples).toHaveLength(0);
    expect((await get("/api/v1/samples?connector=5")).body.samples).toHaveLength(0);
    expect((await get("/api/v1/samples?connector=4", "")).status).toBe(401);

    // the Mapping Studio's view of a connector: its last rows and the columns they have
    const rows = await get("/api/v1/samples/rows?connector=4");
    expect(rows.status).toBe(200);
    expect(rows.body.rows.map((r: { topic: string }) => r.topic)).toEqual([
      "file:mes.csv:3",
      "file:mes.csv:2",
    ]);
    expect(rows.body.columns).toEqual(["AUFTRAG", "MENGE", "ZEIT"]);
    expect((await get("/api/v1/samples/rows")).status).toBe(400);
  });

  it("keeps the rows of a connector without a mapping yet, for its first mapping", async () => {
    writeFileSync(join(raw, "raw.csv"), "LOS;GUT;AUSSCHUSS\nL-1;10;1\nL-2;12;0\nL-3;9;2\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(raw, "raw.csv"), old, old);
    await sidecar.legacy.scheduler.trigger("file:main/schedule/2");
    const rows = await get("/api/v1/samples/rows?connector=6");
    expect(rows.body.rows.map((r: { topic: string }) => r.topic)).toEqual([
      "file:raw.csv:4",
      "file:raw.csv:3",
      "file:raw.csv:2",
    ]);
    expect(rows.body.columns).toEqual(["LOS", "GUT", "AUSSCHUSS"]);
  });
});
