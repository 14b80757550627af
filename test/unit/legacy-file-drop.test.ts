/**
 * File drops in a temporary folder on a real SQLite store: CSV, fixed width and XML rows become
 * events; a half-written file is not read; a malformed row is dead-lettered with its line number
 * while the rest is stored; a file dropped again makes no duplicates; Latin-1 is decoded; files
 * that cannot be read go to the error folder with a reason; nothing escapes the folder.
 */
import type { FileFormat } from "../../sidecar/src/contracts/connector-params.js";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import iconv from "iconv-lite";
import {
  createFileDropSource,
  type FileDropOptions,
} from "../../sidecar/src/ingress/legacy/file-drop/file-source.js";
import { confineFolder, listReady, readStable } from "../../sidecar/src/connectors/folder.js";
import type { ProductionEvent } from "../../sidecar/src/canonical/types.js";
import { legacyHarness, tempDir, type LegacyHarness } from "../helpers/legacy-harness.js";

const CSV: FileFormat = {
  format: "csv",
  delimiter: ";",
  quote: '"',
  header: true,
  skipLines: 0,
  trim: true,
};

let h: LegacyHarness;
let dir: string;

beforeEach(async () => {
  h = await legacyHarness();
  dir = tempDir();
});
afterEach(() => h.close());

function source(format: FileFormat = CSV, extra: Partial<FileDropOptions> = {}) {
  return createFileDropSource({
    connectorId: 7,
    dir,
    archiveDir: join(dir, "archive"),
    errorDir: join(dir, "error"),
    patterns: ["*.csv", "*.txt", "*.xml"],
    format,
    stableMs: 0,
    store: h.store,
    ...extra,
  });
}

/** Writes a file whose modification time is a minute ago (settled). */
function drop(name: string, content: string | Buffer, ageMs = 60_000): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
  return path;
}

const header = "type;order;quantity;occurredAt";
const line = (i: number) =>
  `production;WH/MO/${String(i).padStart(5, "0")};${i};2026-11-26 08:00:00`;

describe("file drop source", () => {
  it("stores every CSV row once with its line in the key, then archives the file", async () => {
    drop("prod.csv", [header, line(1), line(2), line(3)].join("\n"));
    const stats = await source().run(h.ctx);
    expect(stats).toMatchObject({ rows: 3, accepted: 3, duplicates: 0, rejected: 0 });
    const events = (await h.messages()).map((m) => m.event as ProductionEvent);
    expect(events.map((e) => [e.order, e.quantity])).toEqual([
      ["WH/MO/00001", 1],
      ["WH/MO/00002", 2],
      ["WH/MO/00003", 3],
    ]);
    // line 2 of the file is the first row; naive times are the site's (Berlin, UTC+1 in November)
    expect(events[0]!.id).toMatch(/^file:[0-9a-f]{16}:2$/);
    expect(events[0]!.occurredAt).toBe("2026-11-26T08:00:00+01:00");
    expect((await h.messages())[0]!.origin).toBe("file:prod.csv");
    expect(existsSync(join(dir, "prod.csv"))).toBe(false);
    expect(readdirSync(join(dir, "archive"))).toEqual(["prod.csv"]);
  });

  it("takes a warehouse tool's moves as transfer rows; a row without its destination is dead-lettered", async () => {
    drop(
      "moves.csv",
      [
        "type;product;quantity;lot;from;to;occurredAt",
        "transfer;PB_RESIN;4,5;R1;WH/Stock;WH/Pre-Production;2026-11-26 08:00:00",
        "transfer;PB_BOLT;6;;WH/Stock;;2026-11-26 08:01:00",
      ].join("\n"),
    );
    const stats = await source().run(h.ctx);
    expect(stats).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
    expect((await h.messages()).map((m) => m.event)).toEqual([
      expect.objectContaining({
        type: "transfer",
        product: "PB_RESIN",
        quantity: 4.5,
        lot: "R1",
        from: "WH/Stock",
        to: "WH/Pre-Production",
        occurredAt: "2026-11-26T08:00:00+01:00",
      }),
    ]);
    expect((await h.deadLetters()).map((d) => [d.origin, d.code])).toEqual([
      ["file:moves.csv:3", "schema"],
    ]);
  });

  it("dead-letters a malformed row with its line number and stores the rest", async () => {
    drop(
      "mixed.csv",
      [
        header,
        line(1),
        "production;WH/MO/00002;3",
        line(3),
        "production;WH/MO/00004;-5;2026-11-26 08:00:00",
        line(5),
      ].join("\r\n"),
    );
    const stats = await source().run(h.ctx);
    expect(stats).toMatchObject({ rows: 5, accepted: 3, rejected: 2 });
    expect((await h.messages()).map((m) => (m.event as ProductionEvent).order)).toEqual([
      "WH/MO/00001",
      "WH/MO/00003",
      "WH/MO/00005",
    ]);
    const dead = await h.deadLetters();
    expect(dead.map((d) => [d.origin, d.code])).toEqual([
      ["file:mixed.csv:3", "schema"],
      ["file:mixed.csv:5", "bad_quantity"],
    ]);
    expect(dead[0]!.message).toMatch(/^line 3: expected 4 columns, got 3/);
    expect(dead[0]!.payload).toBe("production;WH/MO/00002;3");
    expect(dead[1]!.message).toMatch(/^line 5: /);
    // the invalid event is kept as canonical JSON, to be edited and replayed
    expect(JSON.parse(dead[1]!.payload)).toMatchObject({ order: "WH/MO/00004", quantity: -5 });
    expect(readdirSync(join(dir, "archive"))).toEqual(["mixed.csv"]);
  });

  it("does not read a half-written file: in-progress names, lock files, recent or growing files", async () => {
    drop("a.csv.part", [header, line(1)].join("\n"));
    drop("b.csv", [header, line(2)].join("\n"));
    drop("b.csv.lock", "");
    drop("c.csv", [header, line(3)].join("\n"), 0); // just written
    const stats = await source(CSV, { stableMs: 5_000 }).run(h.ctx);
    expect(stats.rows).toBe(0);
    expect(await h.messages()).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["a.csv.part", "b.csv", "b.csv.lock", "c.csv"]);

    // the writer finishes: renames the .part, removes its lock; c.csv settles
    const { renameSync, unlinkSync } = await import("node:fs");
    renameSync(join(dir, "a.csv.part"), join(dir, "a.csv"));
    unlinkSync(join(dir, "b.csv.lock"));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "c.csv"), old, old);
    expect((await source(CSV, { stableMs: 5_000 }).run(h.ctx)).accepted).toBe(3);
  });

  it("does not take a file that grows between the listing and the read", async () => {
    const path = drop("growing.csv", [header, line(1)].join("\n"));
    const { ready } = await listReady(dir, ["*.csv"], { stableMs: 0, now: Date.now(), limit: 10 });
    expect(ready.map((c) => c.name)).toEqual(["growing.csv"]);
    appendFileSync(path, `\n${line(2)}`);
    expect(await readStable(ready[0]!, 1 << 20)).toBeUndefined();
    // complete and quiet: read with both rows
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    expect(await source().run(h.ctx)).toMatchObject({ rows: 2, accepted: 2 });
  });

  it("makes no duplicate when the same file is dropped again", async () => {
    const content = [header, line(1), line(2)].join("\n");
    drop("again.csv", content);
    expect((await source().run(h.ctx)).accepted).toBe(2);
    drop("again.csv", content);
    const second = await source().run(h.ctx);
    expect(second).toMatchObject({ accepted: 0, duplicates: 0, rows: 0 });
    expect(second.notes.join()).toMatch(/committed before, archived/);
    expect(await h.messages()).toHaveLength(2);
    const archived = readdirSync(join(dir, "archive"));
    expect(archived).toHaveLength(2);
    expect(archived).toContain("again.csv");
    expect(archived.find((n) => n !== "again.csv")).toMatch(/^again\.[0-9a-f]{12}\.csv$/);
    // Keys are the content's (checksum + line): the same export under another name is no news.
    drop("renamed.csv", content);
    expect(await source().run(h.ctx)).toMatchObject({ accepted: 0, rows: 0 });
    expect(existsSync(join(dir, "archive", "renamed.csv"))).toBe(true);
    // A different file with one row in common: only the new row is new.
    drop("next.csv", [header, line(1), line(9)].join("\n"));
    expect(await source().run(h.ctx)).toMatchObject({ accepted: 2 });
  });

  it("resumes after the last committed chunk when a run is cut short", async () => {
    const rows = Array.from({ length: 10 }, (_, i) => line(i + 1));
    drop("big.csv", [header, ...rows].join("\n"));
    const aborter = new AbortController();
    let commits = 0;
    const first = await source(CSV, { chunkRows: 3 }).run({
      ...h.ctx,
      afterRead: async () => {
        if (++commits === 2) aborter.abort();
      },
      signal: aborter.signal,
    });
    expect(first.accepted).toBe(6);
    expect(existsSync(join(dir, "big.csv"))).toBe(true);
    const second = await source(CSV, { chunkRows: 3 }).run(h.ctx);
    expect(second).toMatchObject({ rows: 4, accepted: 4, duplicates: 0 });
    expect(await h.messages()).toHaveLength(10);
  });

  it("decodes a Latin-1 file and refuses it as UTF-8 with a reason file", async () => {
    const text = [
      "type;order;attributes.operator;quantity;occurredAt",
      "production;WH/MO/00001;Jürgen Müß;2;2026-11-26 08:00:00",
    ].join("\n");
    drop("latin.csv", iconv.encode(text, "latin1"));
    const wrong = await source().run(h.ctx);
    expect(wrong).toMatchObject({ accepted: 0, rejected: 1 });
    const dead = await h.deadLetters();
    expect(dead[0]).toMatchObject({ origin: "file:latin.csv", code: "schema" });
    expect(dead[0]!.message).toMatch(/not valid UTF-8 \(line 2\)/);
    const reason = readFileSync(join(dir, "error", "latin.csv.reason.txt"), "utf8");
    expect(reason).toMatch(/not valid UTF-8/);

    // The same content is known as an error: dropped again under the right encoding it is
    // another file only if its content differs (here, one more row).
    drop("latin2.csv", iconv.encode(`${text}\n`, "latin1"));
    const right = await source(CSV, { encoding: "latin1" }).run(h.ctx);
    expect(right.accepted).toBe(1);
    const [msg] = await h.messages();
    expect(msg!.event.attributes).toEqual({ operator: "Jürgen Müß" });
  });

  it("reads fixed-width lines by column spec and dead-letters a short line", async () => {
    const format: FileFormat = {
      format: "fixed",
      skipLines: 1,
      trim: true,
      columns: [
        { name: "type", start: 1, length: 10 },
        { name: "order", start: 11, length: 12 },
        { name: "quantity", start: 23, length: 6 },
        { name: "occurredAt", start: 29, length: 19 },
      ],
    };
    const rec = (order: string, qty: string) =>
      `${"production".padEnd(10)}${order.padEnd(12)}${qty.padStart(6)}2026-11-26 08:00:00`;
    drop(
      "fixed.txt",
      [
        "HEADER BANNER",
        rec("WH/MO/00001", "2,5"),
        "production WH/MO",
        rec("WH/MO/00002", "4"),
        "",
      ].join("\n"),
    );
    const stats = await source(format).run(h.ctx);
    expect(stats).toMatchObject({ accepted: 2, rejected: 1 });
    expect((await h.messages()).map((m) => (m.event as ProductionEvent).quantity)).toEqual([
      2.5, 4,
    ]);
    expect((await h.deadLetters())[0]).toMatchObject({ origin: "file:fixed.txt:3" });
  });

  it("reads XML records at a record path, with their line numbers, and refuses entities", async () => {
    const format: FileFormat = { format: "xml", recordPath: "export.records.record" };
    drop(
      "orders.xml",
      [
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        "<export><records>",
        '  <record type="production"><order>WH/MO/00001</order><quantity>1</quantity><occurredAt>2026-11-26T08:00:00Z</occurredAt></record>',
        '  <record type="production"><order>WH/MO/00002</order><quantity>zwölf</quantity><occurredAt>2026-11-26T08:00:00Z</occurredAt></record>',
        "</records></export>",
      ].join("\n"),
    );
    // written as Latin-1 (the declaration says so)
    const path = join(dir, "orders.xml");
    writeFileSync(path, iconv.encode(readFileSync(path, "utf8"), "latin1"));
    utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const stats = await source(format).run(h.ctx);
    expect(stats).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
    const dead = await h.deadLetters();
    expect(dead[0]!.origin).toBe("file:orders.xml:4");
    expect(dead[0]!.payload).toContain("zwölf");

    drop(
      "bomb.xml",
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><export><records><record>&a;</record></records></export>',
    );
    drop("broken.xml", "<export><records><record></records>");
    const bad = await source(format).run(h.ctx);
    expect(bad).toMatchObject({ rejected: 2, accepted: 0 });
    expect(readdirSync(join(dir, "error")).sort()).toEqual([
      "bomb.xml",
      "bomb.xml.reason.txt",
      "broken.xml",
      "broken.xml.reason.txt",
    ]);
  });

  it("takes hostile content as data: huge rows, injection-looking values, links out of the folder", async () => {
    const huge = "x".repeat(2 * 1024 * 1024);
    drop(
      "hostile.csv",
      [
        header,
        `production;${huge};1;2026-11-26 08:00:00`,
        `production;"'; DROP TABLE x; --";1;2026-11-26 08:00:00`,
        line(3),
      ].join("\n"),
    );
    const outside = tempDir();
    writeFileSync(join(outside, "secret.csv"), [header, line(9)].join("\n"));
    symlinkSync(join(outside, "secret.csv"), join(dir, "link.csv"));
    mkdirSync(join(dir, "sub.csv"));
    const stats = await source().run(h.ctx);
    expect(stats.accepted).toBe(2);
    expect((await h.messages()).map((m) => (m.event as ProductionEvent).order)).toEqual([
      "'; DROP TABLE x; --",
      "WH/MO/00003",
    ]);
    const dead = await h.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.origin).toBe("file:hostile.csv:2");
    expect(dead[0]!.payload.length).toBeLessThanOrEqual(4096);
    // the link was neither read nor moved
    expect(existsSync(join(dir, "link.csv"))).toBe(true);
    expect(readFileSync(join(outside, "secret.csv"), "utf8")).toContain("WH/MO/00009");
  });

  it("never moves or writes through a symbolic link: archive or error folder, reason file", async () => {
    const outside = tempDir();
    writeFileSync(join(outside, "passwd"), "root:x:0:0\n");
    // Someone who can write into the drop folder swaps the archive folder for a link out of it.
    symlinkSync(outside, join(dir, "archive"));
    drop("prod.csv", [header, line(1)].join("\n"));
    await expect(source().run(h.ctx)).rejects.toThrow(/symbolic link/);
    expect(readdirSync(outside)).toEqual(["passwd"]);
    expect(existsSync(join(dir, "prod.csv"))).toBe(true);

    // A reason file planted as a link: not followed, the file outside is unchanged.
    mkdirSync(join(dir, "error"));
    symlinkSync(join(outside, "passwd"), join(dir, "error", "bad.csv.reason.txt"));
    drop("bad.csv", Buffer.from([0xff, 0xfe, 0x00]));
    await source(CSV, { archiveDir: join(dir, "archive2") })
      .run(h.ctx)
      .catch(() => undefined);
    expect(readFileSync(join(outside, "passwd"), "utf8")).toBe("root:x:0:0\n");

    // The drop folder itself as a link: nothing is listed through it.
    const linked = join(tempDir(), "drop");
    symlinkSync(outside, linked);
    await expect(source(CSV, { dir: linked }).run(h.ctx)).rejects.toThrow(/symbolic link/);
    expect(readdirSync(outside)).toEqual(["passwd"]);
  });

  it("resolves real paths before the roots check: a link inside the roots to outside is refused", () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(root, "escape"));
    expect(() => confineFolder("escape", root, [root])).toThrow(
      /outside PLANT_BRIDGE_LEGACY_ROOTS|symbolic link/,
    );
    expect(() => confineFolder("escape/deeper", root, [root])).toThrow(
      /outside PLANT_BRIDGE_LEGACY_ROOTS/,
    );
    mkdirSync(join(root, "real"));
    expect(confineFolder("real/new", root, [root])).toBe(join(root, "real", "new"));
  });

  it("confines folders to PLANT_BRIDGE_LEGACY_ROOTS", () => {
    expect(confineFolder("drops/a", "/srv/legacy", ["/srv/legacy"])).toBe("/srv/legacy/drops/a");
    expect(() => confineFolder("../etc", "/srv/legacy", ["/srv/legacy"])).toThrow(/outside/);
    expect(() => confineFolder("/srv/legacy-other", "/", ["/srv/legacy"])).toThrow(/outside/);
    expect(confineFolder("/anywhere", "/", [])).toBe("/anywhere");
  });
});
