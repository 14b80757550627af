/**
 * The legacy runner: schedules of a site's configuration (here the local PLANT_BRIDGE_LEGACY
 * file) become jobs that pull with the right source and mapper; a schedule that cannot run is
 * reported as a failed run with a config code; a connector that does not check out fails its
 * runs naming the parameter, never a secret's value.
 */
import type { LegacySiteConfig } from "../../sidecar/src/contracts/site-config.js";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import { sqlConnection } from "../../sidecar/src/connectors/params.js";
import { loadLegacyFile } from "../../sidecar/src/ingress/legacy/file.js";
import { describeConnection, postgresConnection } from "../../sidecar/src/connectors/sql-client.js";
import { createLegacyRunner } from "../../sidecar/src/ingress/legacy/runner.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createLocalLocks } from "../../sidecar/src/scheduler/locks.js";
import { createScheduler, type RunRecord } from "../../sidecar/src/scheduler/scheduler.js";
import { legacyHarness, tempDir, type LegacyHarness } from "../helpers/legacy-harness.js";

const logger = createLogger({ level: "silent" });
let h: LegacyHarness;
let dir: string;
let runs: RunRecord[];
let started: string[];

beforeEach(async () => {
  h = await legacyHarness();
  dir = tempDir();
  runs = [];
  started = [];
});
afterEach(() => h.close());

function runner(extra: { reconcile?: Parameters<typeof createLegacyRunner>[0]["reconcile"] } = {}) {
  const scheduler = createScheduler({
    locks: createLocalLocks(),
    logger,
    onRun: (r) => runs.push(r),
    createTask: (expr) => ({ start: () => void started.push(expr), destroy: () => undefined }),
  });
  const legacy = createLegacyRunner({
    store: h.store,
    ingestor: h.ingestor,
    check: createEventChecker(),
    scheduler,
    logger,
    baseDir: dir,
    onProblem: (r) => runs.push(r),
    ...extra,
  });
  return { scheduler, legacy };
}

function legacyFile(content: object): Map<string, LegacySiteConfig> {
  const path = join(dir, "legacy.json");
  writeFileSync(path, JSON.stringify(content));
  return loadLegacyFile(path, "main");
}

describe("legacy runner", () => {
  it("runs a file drop schedule of the local file in the site's time zone", async () => {
    writeFileSync(
      join(dir, "in.csv"),
      "type;order;quantity;occurredAt\nproduction;WH/MO/00001;3;2026-07-01 08:00:00\n",
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "in.csv"), old, old);
    const sites = legacyFile({
      timezone: "America/Chicago",
      connectors: [
        {
          id: 5,
          name: "MES",
          kind: "file_drop",
          params: { path: ".", pattern: "*.csv", delimiter: ";", stableSeconds: 0 },
        },
      ],
      schedules: [{ id: 9, name: "MES pull", connector: "MES", cron: "*/2 * * * *" }],
    });
    const { scheduler, legacy } = runner();
    await legacy.apply(sites.get("main")!);
    expect(started).toEqual(["*/2 * * * *"]);
    const record = await scheduler.trigger("main/schedule/9");
    expect(record).toMatchObject({ state: "done", rows: 1, accepted: 1, scheduleId: 9 });
    const [msg] = await h.messages();
    expect(msg!.event.occurredAt).toBe("2026-07-01T08:00:00-05:00");
    await legacy.stop();
  });

  it("reports schedules that cannot run, once, and fails runs of a bad connector", async () => {
    const sites = legacyFile({
      connectors: [
        {
          id: 1,
          name: "db",
          kind: "sql_source",
          params: { driver: "postgres", query: "SELECT 1" },
        },
        {
          id: 2,
          name: "db2",
          kind: "sql_source",
          params: {
            driver: "mysql",
            url: "mysql://u:topsecret@127.0.0.1/x",
            query: "SELECT 1",
            watermarkColumn: "id",
            keyColumn: "id",
          },
        },
        { id: 3, name: "out", kind: "sink_file", params: {} },
      ],
      schedules: [
        { id: 1, name: "bad cron", connector: 1, cron: "*/5 * * *" },
        { id: 2, name: "no watermark", connector: 1, cron: "* * * * *" },
        { id: 3, name: "password in url", connector: 2, cron: "* * * * *" },
        { id: 4, name: "a sink", connector: 3, cron: "* * * * *" },
        { id: 5, name: "unknown mapping", connector: 1, cron: "* * * * *", mapping: 77 },
      ],
    });
    const { scheduler, legacy } = runner();
    await legacy.apply(sites.get("main")!);
    await legacy.apply(sites.get("main")!); // the same configuration again: reported once
    const problems = runs.filter((r) => r.state === "failed");
    expect(problems.map((r) => [r.schedule, r.code])).toEqual([
      ["bad cron", "config"],
      ["a sink", "config"],
    ]);
    expect(problems[0]!.message).toMatch(/5 fields/);
    expect(await scheduler.trigger("main/schedule/2")).toMatchObject({
      state: "failed",
      code: "config",
      message: expect.stringMatching(/watermarkColumn and keyColumn are required/),
    });
    const leaked = await scheduler.trigger("main/schedule/3");
    expect(leaked).toMatchObject({ state: "failed", code: "config" });
    expect((leaked as RunRecord).message).toMatch(/put the password in the connector's secrets/);
    expect((leaked as RunRecord).message).not.toContain("topsecret");
    expect(await scheduler.trigger("main/schedule/5")).toMatchObject({
      state: "failed",
      message: expect.stringMatching(/mapping 77 .* is not an active mapping/),
    });
    await legacy.stop();
  });

  it("sends the legacy totals of a reconciliation connector to Odoo's comparison", async () => {
    writeFileSync(
      join(dir, "totals.csv"),
      [
        "order,shift,shift_start,shift_end,produced,scrapped,product,lot,consumed",
        "WH/MO/00001,A,2026-11-26 06:00,2026-11-26 14:00,5,1,,,",
        "WH/MO/00001,,,,,,FURN_7023,L-9,2",
        ",A,,,3,,,,",
      ].join("\n"),
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "totals.csv"), old, old);
    const sites = legacyFile({
      timezone: "UTC",
      connectors: [
        {
          id: 1,
          name: "MES totals",
          kind: "file_drop",
          params: {
            path: ".",
            pattern: "totals*.csv",
            purpose: "reconciliation",
            stableSeconds: 0,
          },
        },
      ],
      schedules: [{ id: 1, name: "end of shift", connector: 1, cron: "0 6,14,22 * * *" }],
    });
    const calls: unknown[] = [];
    const { scheduler, legacy } = runner({
      reconcile: async (site, request) => {
        calls.push({ site, ...request });
        return { reconciliation_id: 12, compared: 2, differences: 1 };
      },
    });
    await legacy.apply(sites.get("main")!);
    const record = await scheduler.trigger("main/schedule/1");
    expect(record).toMatchObject({ state: "done", rows: 3, rejected: 1 });
    expect((record as RunRecord).message).toMatch(/reconciliation #12: 1 difference/);
    expect(calls).toEqual([
      {
        site: "main",
        key: expect.stringMatching(/^[0-9a-f]{32}$/),
        source: "MES totals",
        lines: [
          {
            order: "WH/MO/00001",
            shift: "A",
            shift_start: "2026-11-26T06:00:00Z".replace("Z", "+00:00"),
            shift_end: "2026-11-26T14:00:00+00:00",
            produced: 5,
            scrapped: 1,
          },
          { order: "WH/MO/00001", product: "FURN_7023", lot: "L-9", consumed: 2 },
        ],
      },
    ]);
    // the file was taken: archived once Odoo had it
    expect(await scheduler.trigger("main/schedule/1")).toMatchObject({ rows: 0 });
    await legacy.stop();
  });

  it("takes database credentials from the connector's secrets, and never shows them", () => {
    const c = sqlConnection(
      { driver: "postgres", url: "postgres://mes@db.plant:5432/mes" },
      { password: "p@ss:w/rd" },
      "SQL source",
    );
    const url = new URL(postgresConnection(c).connectionString!);
    expect([url.username, decodeURIComponent(url.password), url.host]).toEqual([
      "mes",
      "p@ss:w/rd",
      "db.plant:5432",
    ]);
    expect(describeConnection({ ...c, url: url.toString() })).toBe(
      "postgres://mes:[redacted]@db.plant:5432/mes",
    );
  });
});
