/**
 * Legacy rows through a JSONata mapping in the real sandbox pool: a CSV export whose columns are
 * not canonical becomes production events with keys derived from the row; a row the expression
 * cannot map is a `mapping_error` dead letter naming the file, the line and the mapping version;
 * a shadow version of the mapping is compared on the same rows and posts nothing, and the rows are
 * recent samples of their connector — both reported to (a recording) Odoo.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import type { MappingConfig } from "../../sidecar/src/contracts/site-config.js";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import type { DowntimeEvent, ProductionEvent } from "../../sidecar/src/canonical/types.js";
import { createFileDropSource } from "../../sidecar/src/ingress/legacy/file-drop/file-source.js";
import { createRowMappers } from "../../sidecar/src/ingress/legacy/jsonata-row-mapper.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMappingReports } from "../../sidecar/src/odoo/mapping-reports.js";
import { createSampleRing } from "../../sidecar/src/pipeline/mapping/samples.js";
import { createShadowLog } from "../../sidecar/src/pipeline/mapping/shadow.js";
import {
  startSandboxPool,
  type SandboxPool,
} from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { legacyHarness, tempDir, type LegacyHarness } from "../helpers/legacy-harness.js";

let pool: SandboxPool;
let h: LegacyHarness;
beforeAll(() => {
  pool = startSandboxPool({ logger: createLogger({ level: "silent" }), workers: 1 });
});
afterAll(() => pool.close());
beforeEach(async () => {
  h = await legacyHarness();
});
afterEach(() => h.close());

const mapping: MappingConfig = {
  id: 3,
  name: "MES export",
  connector_id: 1,
  selector: "mes/export",
  event_type: "production",
  expression:
    '{"order": AUFTRAG, "quantity": $number($replace(MENGE, ",", ".")), "occurredAt": $replace(ZEIT, " ", "T") & "+01:00", "lot": CHARGE ? CHARGE : undefined}',
  key_expression: null,
  version: 2,
  state: "active",
  aggregation: null,
};

/** A CSV export in a new folder, last written a minute ago (settled: the file drop reads it). */
function settledCsv(lines: string[]): string {
  const dir = tempDir();
  writeFileSync(join(dir, "mes.csv"), lines.join("\n"));
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(dir, "mes.csv"), old, old);
  return dir;
}

describe("legacy rows through a JSONata mapping", () => {
  it("maps a CSV export's columns and dead-letters what the expression cannot map", async () => {
    const dir = settledCsv([
      "AUFTRAG;MENGE;ZEIT;CHARGE",
      "WH/MO/00001;2,5;2026-11-26 08:00:00;",
      "WH/MO/00002;viel;2026-11-26 08:05:00;L-1",
      "WH/MO/00003;1;2026-11-26 08:10:00;L-2",
    ]);
    const mappers = createRowMappers({ pool, check: createEventChecker(), origin: "odoo" });
    const mapper = mappers("main", mapping)!;
    const source = createFileDropSource({
      connectorId: 1,
      dir,
      archiveDir: join(dir, "archive"),
      errorDir: join(dir, "error"),
      patterns: ["*.csv"],
      format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
      stableMs: 0,
      store: h.store,
    });
    const stats = await source.run({ ...h.ctx, mapper });
    expect(stats).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });
    const events = (await h.messages()).map((m) => m.event as ProductionEvent);
    expect(events.map((e) => [e.order, e.quantity, e.lot ?? null, e.occurredAt])).toEqual([
      ["WH/MO/00001", 2.5, null, "2026-11-26T08:00:00+01:00"],
      ["WH/MO/00003", 1, "L-2", "2026-11-26T08:10:00+01:00"],
    ]);
    expect(events[0]!.id).toMatch(/^m3-[0-9a-f]{32}$/);
    const [dead] = await h.deadLetters();
    expect(dead).toMatchObject({ origin: "file:mes.csv:3#m3@v2", source: "file" });
    expect(dead!.code).toBe("mapping_error");
    expect(JSON.parse(dead!.payload)).toMatchObject({ AUFTRAG: "WH/MO/00002", MENGE: "viel" });

    // the same rows again (another file, same content): the same ids, no double
    writeFileSync(
      join(dir, "again.csv"),
      "AUFTRAG;MENGE;ZEIT;CHARGE\nWH/MO/00001;2,5;2026-11-26 08:00:00;\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "again.csv"), old, old);
    // a different file: line 2 has a different checksum, so a different key
    expect((await source.run({ ...h.ctx, mapper })).accepted).toBe(1);
  });

  it("takes epoch milliseconds and naive local times in every date-time field, not only occurredAt", async () => {
    // A legacy downtime log: start as a local time without offset, end turned into epoch ms with
    // $toMillis, occurredAt naive too. The site is in Europe/Berlin (+01:00 in November).
    const dir = tempDir();
    writeFileSync(
      join(dir, "stops.csv"),
      "WC;VON;BIS\nDrill 1;2026-11-26 07:00:00;2026-11-26T07:10:00+01:00\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "stops.csv"), old, old);
    const downtime: MappingConfig = {
      ...mapping,
      id: 4,
      event_type: "downtime",
      expression:
        '{"workcenter": WC, "reason": "Equipment Failure", "start": $replace(VON, " ", "T"), "end": $toMillis(BIS), "occurredAt": $replace(VON, " ", "T")}',
    };
    const mapper = createRowMappers({ pool, check: createEventChecker(), origin: "odoo" })(
      "main",
      downtime,
    )!;
    const source = createFileDropSource({
      connectorId: 1,
      dir,
      archiveDir: join(dir, "archive"),
      errorDir: join(dir, "error"),
      patterns: ["*.csv"],
      format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
      stableMs: 0,
      store: h.store,
    });
    const stats = await source.run({ ...h.ctx, mapper });
    expect(await h.deadLetters()).toEqual([]);
    expect(stats).toMatchObject({ rows: 1, accepted: 1 });
    const [event] = (await h.messages()).map((m) => m.event as DowntimeEvent);
    expect([event!.start, event!.end, event!.occurredAt].map((t) => Date.parse(t))).toEqual([
      Date.parse("2026-11-26T06:00:00Z"),
      Date.parse("2026-11-26T06:10:00Z"),
      Date.parse("2026-11-26T06:00:00Z"),
    ]);
    expect(event!.start).toBe("2026-11-26T07:00:00+01:00");
  });

  it("maps a quality system's export into nonconformances and compliance records, refusing hostile rows", async () => {
    // One export, one row per finding: a disposition, or a certificate to file (kind CERT).
    const dir = tempDir();
    writeFileSync(
      join(dir, "qms.csv"),
      [
        "KIND;LOT;QTY;DEFECT;DISPO;BY;SHA;URL",
        "NC;L-7;2;porosity;SCRAP;;;",
        "NC;L-8;1;scratch;UAI;;;",
        `CERT;L-7;;;;;${"b".repeat(64)};https://qms.example/coc/L-7.pdf`,
        `CERT;L-9;;;;;${"c".repeat(64)};javascript:alert(1)`,
      ].join("\n"),
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "qms.csv"), old, old);
    const qms: MappingConfig = {
      ...mapping,
      id: 6,
      event_type: "nonconformance",
      // JSONata's $lookup on the export's codes; a CERT row is a record
      expression: `KIND = "NC" ? {"type": "nonconformance", "lot": LOT, "product": "PB_WIDGET",
        "quantity": $number(QTY), "defect": DEFECT,
        "disposition": $lookup({"SCRAP": "scrap", "UAI": "use_as_is"}, DISPO),
        "approvedBy": BY ? BY : undefined, "occurredAt": "2026-11-26T08:00:00+01:00"}
        : {"type": "record", "kind": "certificate_of_conformity", "lot": LOT, "sha256": SHA,
        "uri": URL, "occurredAt": "2026-11-26T08:00:00+01:00"}`,
    };
    const mapper = createRowMappers({ pool, check: createEventChecker(), origin: "odoo" })(
      "main",
      qms,
    )!;
    const source = createFileDropSource({
      connectorId: 1,
      dir,
      archiveDir: join(dir, "archive"),
      errorDir: join(dir, "error"),
      patterns: ["*.csv"],
      format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
      stableMs: 0,
      store: h.store,
    });
    expect(await source.run({ ...h.ctx, mapper })).toMatchObject({
      rows: 4,
      accepted: 2,
      rejected: 2,
    });
    const events = (await h.messages()).map((m) => m.event);
    expect(events).toEqual([
      expect.objectContaining({
        type: "nonconformance",
        lot: "L-7",
        quantity: 2,
        disposition: "scrap",
      }),
      expect.objectContaining({
        type: "record",
        lot: "L-7",
        sha256: "b".repeat(64),
        uri: "https://qms.example/coc/L-7.pdf",
      }),
    ]);
    // a concession without who approved it, a record pointing at a script: coded, kept, the rest flows
    expect((await h.deadLetters()).map((d) => [d.code, d.origin])).toEqual([
      ["schema", "file:qms.csv:3#m6@v2"],
      ["schema", "file:qms.csv:5#m6@v2"],
    ]);
  });

  it("gives expressions the file and line of a row ($file, $line)", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "k.csv"),
      "AUFTRAG;MENGE;ZEIT;CHARGE\nWH/MO/00007;1;2026-11-26 08:00:00;\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "k.csv"), old, old);
    const mapper = createRowMappers({ pool, check: createEventChecker(), origin: "odoo" })("main", {
      ...mapping,
      id: 5,
      key_expression: "$file & ':' & $line",
    })!;
    const source = createFileDropSource({
      connectorId: 2,
      dir,
      archiveDir: join(dir, "archive"),
      errorDir: join(dir, "error"),
      patterns: ["*.csv"],
      format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
      stableMs: 0,
      store: h.store,
    });
    expect((await source.run({ ...h.ctx, mapper })).accepted).toBe(1);
    expect((await h.messages())[0]!.eventId).toBe("k.csv:2");
  });

  it("refuses a mapping that is not active or does not compile", () => {
    const mappers = createRowMappers({ pool, check: createEventChecker(), origin: "odoo" });
    expect(mappers("main", { ...mapping, state: "draft" })).toBeUndefined();
    expect(() => mappers("main", { ...mapping, id: 4, expression: "{ nope" })).toThrow(
      /does not compile/,
    );
  });

  it("compares a shadow version on the rows without posting it, and keeps the rows as samples", async () => {
    const dir = settledCsv([
      "AUFTRAG;MENGE;ZEIT;CHARGE",
      "WH/MO/00001;2;2026-11-26 08:00:00;",
      "WH/MO/00002;3;2026-11-26 08:05:00;L-1",
      "WH/MO/00003;kaputt;2026-11-26 08:10:00;",
    ]);
    const active: MappingConfig & { origin_id: number } = { ...mapping, id: 20, origin_id: 20 };
    // the new version counts in dozens: the same events with 12 times the quantity
    const shadowVersion = {
      ...active,
      id: 21,
      version: 3,
      state: "shadow" as const,
      expression: mapping.expression.replace("$number(", "12 * $number("),
    };
    // a shadow version of another mapping: not compared with this one
    const other = { ...shadowVersion, id: 30, origin_id: 30 };
    const shadow = createShadowLog();
    const samples = createSampleRing({ minIntervalMs: 0 });
    const mapper = createRowMappers({
      pool,
      check: createEventChecker(),
      origin: "odoo",
      shadow,
      samples,
    })("main", active, {
      connector: {
        id: 7,
        name: "MES export",
        kind: "file_drop",
        active: true,
        params: {},
        secrets: {},
      },
      mappings: [active, shadowVersion, other],
    })!;
    const source = createFileDropSource({
      connectorId: 7,
      dir,
      archiveDir: join(dir, "archive"),
      errorDir: join(dir, "error"),
      patterns: ["*.csv"],
      format: { format: "csv", delimiter: ";", quote: '"', header: true, skipLines: 0, trim: true },
      stableMs: 0,
      store: h.store,
    });
    expect(await source.run({ ...h.ctx, mapper })).toMatchObject({
      rows: 3,
      accepted: 2,
      rejected: 1,
    });
    // only the active version posted
    const events = (await h.messages()).map((m) => m.event as ProductionEvent);
    expect(events.map((e) => [e.order, e.quantity])).toEqual([
      ["WH/MO/00001", 2],
      ["WH/MO/00002", 3],
    ]);
    expect(await h.deadLetters()).toHaveLength(1);

    const comparisons = shadow.list(21).sort((a, b) => a.topic.localeCompare(b.topic));
    expect(
      comparisons.map((c) => [
        c.topic,
        c.active?.version,
        c.shadow.version,
        c.equal,
        c.differences,
      ]),
    ).toEqual([
      ["file:mes.csv:2", 2, 3, false, ["$[0].quantity"]],
      ["file:mes.csv:3", 2, 3, false, ["$[0].quantity"]],
      // both fail on the bad quantity the same way: equal (and counted as an error)
      ["file:mes.csv:4", 2, 3, true, []],
    ]);
    // the same id (derived from the row and the lineage): only the quantity differs
    expect((comparisons[0]!.shadow.events![0] as { id: string }).id).toBe(events[0]!.id);
    expect(shadow.list(30)).toEqual([]);

    expect(samples.list({ connector: 7 }).map((s) => [s.topic, s.source, s.site])).toEqual([
      ["file:mes.csv:4", "file", "main"],
      ["file:mes.csv:3", "file", "main"],
      ["file:mes.csv:2", "file", "main"],
    ]);
    expect(samples.list({ selector: "*.csv" })).toHaveLength(3);
    expect(samples.list({ selector: "*.xml" })).toHaveLength(0);
    expect(samples.list({ connector: 8 })).toHaveLength(0);
    expect(JSON.parse(samples.list({ connector: 7 }).at(-1)!.payload)).toEqual({
      AUFTRAG: "WH/MO/00001",
      MENGE: "2",
      ZEIT: "2026-11-26 08:00:00",
      CHARGE: "",
    });

    // reported to Odoo: the comparisons of the shadow version and each of the connector's rows
    const calls: Array<{ method: string; kwargs: Record<string, unknown> }> = [];
    const client: OdooClient = {
      protocol: () => "json2",
      version: async () => [19, 0],
      healthy: async () => true,
      async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
        calls.push({ method, kwargs });
        return { recorded: 1 } as T;
      },
      close: async () => undefined,
    };
    // the reporting sidecar's default site is another one: the rows' mapping belongs to "main"
    await createMappingReports({
      client,
      site: "plant-2",
      shadow,
      samples,
      logger: createLogger({ level: "silent" }),
    }).flush();
    expect(calls.find((c) => c.method === "report_shadow")?.kwargs).toEqual({
      site: "main",
      items: [
        expect.objectContaining({
          mapping_id: 21,
          version: 3,
          compared: 3,
          equal: 0,
          different: 2,
          errors: 1,
          last_difference: expect.objectContaining({
            topic: expect.stringMatching(/^file:mes\.csv:[23]$/),
            equal: false,
          }),
        }),
      ],
    });
    expect(calls.find((c) => c.method === "report_samples")?.kwargs).toEqual({
      site: "main",
      samples: ["mes.csv:2", "mes.csv:3", "mes.csv:4"].map((source) => ({
        source,
        connector_id: 7,
        payload: expect.stringContaining(`"AUFTRAG":"WH/MO/0000${Number(source.slice(-1)) - 1}"`),
        at: expect.any(String),
      })),
    });
  });
});
