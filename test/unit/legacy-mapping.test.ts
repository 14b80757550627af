/**
 * Legacy rows through a JSONata mapping in the real sandbox pool: a CSV export whose columns are
 * not canonical becomes production events with keys derived from the row; a row the expression
 * cannot map is a `mapping_error` dead letter naming the file, the line and the mapping version.
 */
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import type { ProductionEvent } from "../../sidecar/src/canonical/types.js";
import { createFileDropSource } from "../../sidecar/src/ingress/legacy/file-drop/file-source.js";
import { createRowMappers } from "../../sidecar/src/ingress/legacy/jsonata-row-mapper.js";
import { createLogger } from "../../sidecar/src/logger.js";
import type { MappingConfig } from "../../sidecar/src/odoo/config-sync.js";
import {
  createSandboxPool,
  type SandboxPool,
} from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { legacyHarness, tempDir, type LegacyHarness } from "./legacy-harness.js";

let pool: SandboxPool;
let h: LegacyHarness;
beforeAll(() => {
  pool = createSandboxPool({ logger: createLogger({ level: "silent" }), workers: 1 });
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

describe("legacy rows through a JSONata mapping", () => {
  it("maps a CSV export's columns and dead-letters what the expression cannot map", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "mes.csv"),
      [
        "AUFTRAG;MENGE;ZEIT;CHARGE",
        "WH/MO/00001;2,5;2026-11-26 08:00:00;",
        "WH/MO/00002;viel;2026-11-26 08:05:00;L-1",
        "WH/MO/00003;1;2026-11-26 08:10:00;L-2",
      ].join("\n"),
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "mes.csv"), old, old);
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
    utimesSync(join(dir, "again.csv"), old, old);
    // a different file: line 2 has a different checksum, so a different key
    expect((await source.run({ ...h.ctx, mapper })).accepted).toBe(1);
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
});
