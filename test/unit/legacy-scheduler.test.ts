/**
 * The scheduler: a schedule that runs longer than its interval never overlaps itself (its
 * skipped ticks are counted on the next run), with node-cron on fake timers and with a manual
 * clock; a sidecar that is not the runner does nothing; run history is queued while Odoo is away
 * and sent once.
 */
import { jest } from "@jest/globals";
import { createLogger } from "../../sidecar/src/logger.js";
import { checkTiming } from "../../sidecar/src/scheduler/cron.js";
import { createLocalLocks, type RunnerLocks } from "../../sidecar/src/scheduler/locks.js";
import { createRunReporter } from "../../sidecar/src/scheduler/run-reporter.js";
import {
  createScheduler,
  type JobResult,
  type RunRecord,
  type ScheduledJob,
} from "../../sidecar/src/scheduler/scheduler.js";
import { createSqliteStore } from "../../sidecar/src/store/sqlite/sqlite-store.js";

const logger = createLogger({ level: "silent" });
const done: JobResult = { rows: 1, accepted: 1, duplicates: 0, rejected: 0, notes: [] };

function job(run: ScheduledJob["run"], extra: Partial<ScheduledJob> = {}): ScheduledJob {
  return {
    id: "main/schedule/1",
    site: "main",
    scheduleId: 1,
    name: "MES pull",
    cron: "* * * * * *",
    timezone: "Europe/Berlin",
    fingerprint: "v1",
    run,
    ...extra,
  };
}

describe("scheduler", () => {
  afterEach(() => jest.useRealTimers());

  it("with node-cron on fake timers: a run longer than the interval is never overlapped", async () => {
    jest.useFakeTimers({ now: new Date("2026-11-26T08:00:00.500Z") });
    let active = 0;
    let maxActive = 0;
    const records: RunRecord[] = [];
    const scheduler = createScheduler({
      locks: createLocalLocks(),
      logger,
      onRun: (r) => records.push(r),
    });
    await scheduler.set([
      job(async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 2500)); // every second, runs 2.5 s
        active--;
        return done;
      }),
    ]);
    await jest.advanceTimersByTimeAsync(10_200);
    // stop waits for the run in progress, whose clock is ours
    const stopping = scheduler.stop();
    await jest.advanceTimersByTimeAsync(3_000);
    await stopping;
    expect(maxActive).toBe(1);
    // ticks at 1, 2, ... 10 s: runs start at 1, 4, 7, 10 (each run skips the two ticks it spans)
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records.length).toBeLessThanOrEqual(4);
    expect(records.slice(1).every((r) => r.skipped === 2)).toBe(true);
    for (let i = 1; i < records.length; i++)
      expect(Date.parse(records[i]!.startedAt)).toBeGreaterThanOrEqual(
        Date.parse(records[i - 1]!.endedAt),
      );
  });

  it("with a manual clock: ticks during a run are skipped and counted, failures are recorded", async () => {
    const ticks: Array<() => void> = [];
    const records: RunRecord[] = [];
    let release!: () => void;
    let calls = 0;
    const scheduler = createScheduler({
      locks: createLocalLocks(),
      logger,
      onRun: (r) => records.push(r),
      createTask: (_expr, tick) => ({
        start: () => void ticks.push(tick),
        destroy: () => undefined,
      }),
    });
    await scheduler.set([
      job(async () => {
        calls++;
        if (calls === 1) await new Promise<void>((r) => (release = r));
        if (calls === 3)
          throw Object.assign(new Error("legacy DB down"), { code: "legacy_unavailable" });
        return done;
      }),
    ]);
    const first = scheduler.trigger("main/schedule/1");
    await new Promise((r) => setImmediate(r));
    ticks[0]!();
    expect(await scheduler.trigger("main/schedule/1")).toBe("running");
    expect(scheduler.running()).toEqual(["main/schedule/1"]);
    release();
    expect(await first).toMatchObject({ state: "done", skipped: 0 });
    expect(await scheduler.trigger("main/schedule/1")).toMatchObject({ state: "done", skipped: 2 });
    expect(await scheduler.trigger("main/schedule/1")).toMatchObject({
      state: "failed",
      code: "legacy_unavailable",
      message: "legacy DB down",
    });
    expect(calls).toBe(3);
    expect(records).toHaveLength(3);
    await scheduler.stop();
  });

  it("does nothing on a sidecar that is not the runner, and replaces a changed job", async () => {
    const notRunner: RunnerLocks = { ...createLocalLocks(), acquire: async () => false };
    let runs = 0;
    const started: string[] = [];
    const scheduler = createScheduler({
      locks: notRunner,
      logger,
      createTask: (expr) => ({ start: () => void started.push(expr), destroy: () => undefined }),
    });
    await scheduler.set([job(async () => (runs++, done))]);
    expect(await scheduler.trigger("main/schedule/1")).toBe("not_runner");
    expect(runs).toBe(0);
    await scheduler.set([job(async () => done, { fingerprint: "v1" })]);
    await scheduler.set([job(async () => done, { fingerprint: "v2", cron: "*/5 * * * *" })]);
    expect(started).toEqual(["* * * * * *", "*/5 * * * *"]);
    await scheduler.set([]);
    expect(await scheduler.trigger("main/schedule/1")).toBe("unknown");
    await scheduler.stop();
  });

  it("checks cron expressions and time zones", () => {
    expect(checkTiming("*/5 * * * *", "Europe/Berlin")).toBeUndefined();
    expect(checkTiming("0 6,14,22 * * mon-fri", "UTC")).toBeUndefined();
    expect(checkTiming("*/5 * * *", "UTC")).toMatch(/5 fields/);
    expect(checkTiming("61 * * * *", "UTC")).toMatch(/invalid cron/);
    expect(checkTiming("* * * * *", "Mars/Olympus")).toMatch(/unknown time zone/);
  });
});

describe("run reporter", () => {
  it("keeps runs while Odoo is away and sends each once", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    const sent: Array<[string, string[]]> = [];
    let up = false;
    const reporter = createRunReporter({
      store,
      sidecar: "edge-1",
      logger,
      send: async (site, runs) => {
        if (!up) throw new Error("Odoo down");
        sent.push([site, runs.map((r) => r.key)]);
      },
    });
    const run = (key: string, site = "main"): RunRecord => ({
      key,
      jobId: `odoo:${site}/schedule/1`,
      site,
      scheduleId: 1,
      schedule: "s",
      startedAt: "2026-11-26T08:00:00Z",
      endedAt: "2026-11-26T08:00:01Z",
      state: "done",
      rows: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      skipped: 0,
      message: "",
    });
    await reporter.record(run("a"));
    await reporter.record(run("b", "plant2"));
    expect(await reporter.flush()).toBe(0);
    expect((await reporter.pending()).map((r) => r.key)).toEqual(["a", "b"]);
    up = true;
    expect(await reporter.flush()).toBe(2);
    expect(await reporter.flush()).toBe(0);
    expect(sent).toEqual([
      ["main", ["a"]],
      ["plant2", ["b"]],
    ]);
    expect(await store.getState("legacy.runs.edge-1")).toBeUndefined();
    await reporter.stop();
    await store.close();
  });
});
