/**
 * Runs jobs on cron schedules (node-cron, in each schedule's time zone). A tick of a schedule
 * whose previous run is still going is skipped — and counted on the next run's record — so one
 * schedule never overlaps itself; a tick of a schedule another sidecar is the runner of (locks.ts)
 * does nothing. Every run ends in a record (start, end, rows, errors) handed to `onRun`.
 */
import { randomUUID } from "node:crypto";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../logger.js";
import type { RunnerLocks } from "./locks.js";

/** What a job reports of one run. */
export interface JobResult {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  notes: string[];
}

export interface ScheduledJob {
  /** Unique and stable: the lock name and the key of the task (`<site>/schedule/<id>`). */
  id: string;
  site: string;
  /** The Odoo schedule's id (run history is filed under it). */
  scheduleId: number;
  name: string;
  cron: string;
  timezone: string;
  /** A changed fingerprint replaces the task (new cron, new connector parameters...). */
  fingerprint: string;
  run(signal: AbortSignal): Promise<JobResult>;
}

export interface RunRecord {
  /** Unique per run: the idempotency key of its report to Odoo. */
  key: string;
  /** The job's id (`odoo:<site>/schedule/<id>`). */
  jobId: string;
  site: string;
  scheduleId: number;
  schedule: string;
  startedAt: string;
  endedAt: string;
  state: "done" | "failed";
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Ticks skipped since the previous run because that run was still going. */
  skipped: number;
  message: string;
  /** Stable code of the failure (`legacy_unavailable`, `config`, ...). */
  code?: string;
}

export interface SchedulerOptions {
  locks: RunnerLocks;
  logger: Logger;
  onRun?: (record: RunRecord) => void;
  /** @default Date.now */
  now?: () => number;
  /** How tasks are created (tests pass a manual clock). @default node-cron */
  createTask?: (
    expression: string,
    tick: () => void,
    timezone: string,
  ) => Pick<ScheduledTask, "start" | "destroy">;
}

export interface Scheduler {
  /** Replaces the jobs: new ones start, removed ones stop, unchanged ones keep their task. */
  set(jobs: ScheduledJob[]): Promise<void>;
  /** One tick of a job now (the same rules as a scheduled tick); the record, or why not. */
  trigger(id: string): Promise<RunRecord | "running" | "not_runner" | "unknown">;
  /** Ids of jobs running now. */
  running(): string[];
  jobs(): ScheduledJob[];
  /** Stops the clock, aborts running jobs, waits for them and releases the locks. */
  stop(): Promise<void>;
}

interface Entry {
  job: ScheduledJob;
  task: Pick<ScheduledTask, "start" | "destroy">;
  running?: Promise<RunRecord | "not_runner">;
  skipped: number;
  abort: AbortController;
}

const defaultTask: NonNullable<SchedulerOptions["createTask"]> = (expression, tick, timezone) =>
  cron.createTask(expression, () => tick(), {
    timezone,
    noOverlap: false,
    // Our own guard decides about overlaps; node-cron only tells the time.
    suppressMissedWarning: true,
  });

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { locks, logger } = options;
  const now = options.now ?? Date.now;
  const createTask = options.createTask ?? defaultTask;
  const entries = new Map<string, Entry>();
  let stopped = false;

  async function tick(entry: Entry): Promise<RunRecord | "running" | "not_runner"> {
    if (entry.running) {
      entry.skipped++;
      logger.debug(
        { schedule: entry.job.name, site: entry.job.site },
        "previous run still going: tick skipped",
      );
      return "running";
    }
    const run = (async () => {
      let runner = false;
      try {
        runner = await locks.acquire(entry.job.id);
      } catch (err) {
        logger.warn(
          { err: { message: (err as Error).message }, schedule: entry.job.name },
          "schedule lock unavailable: tick skipped",
        );
      }
      return runner ? execute(entry) : ("not_runner" as const);
    })();
    entry.running = run;
    try {
      return await run;
    } finally {
      entry.running = undefined;
    }
  }

  async function execute(entry: Entry): Promise<RunRecord> {
    const { job } = entry;
    const started = now();
    const skipped = entry.skipped;
    entry.skipped = 0;
    const base = {
      key: randomUUID(),
      jobId: job.id,
      site: job.site,
      scheduleId: job.scheduleId,
      schedule: job.name,
      skipped,
    };
    let record: RunRecord;
    try {
      const r = await job.run(entry.abort.signal);
      record = {
        ...base,
        startedAt: new Date(started).toISOString(),
        endedAt: new Date(now()).toISOString(),
        state: "done",
        rows: r.rows,
        accepted: r.accepted,
        duplicates: r.duplicates,
        rejected: r.rejected,
        message: r.notes.join("; ").slice(0, 2000),
      };
    } catch (err) {
      const e = err as { message?: string; code?: string };
      record = {
        ...base,
        startedAt: new Date(started).toISOString(),
        endedAt: new Date(now()).toISOString(),
        state: "failed",
        rows: 0,
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        message: String(e.message ?? err).slice(0, 2000),
        ...(typeof e.code === "string" && { code: e.code }),
      };
    }
    logger[record.state === "done" ? "info" : "warn"](
      {
        schedule: job.name,
        site: job.site,
        state: record.state,
        rows: record.rows,
        accepted: record.accepted,
        duplicates: record.duplicates,
        rejected: record.rejected,
        ms: Date.parse(record.endedAt) - started,
        ...(record.state === "failed" && { message: record.message, code: record.code }),
      },
      "scheduled pull finished",
    );
    try {
      options.onRun?.(record);
    } catch (err) {
      logger.warn({ err }, "run record not kept");
    }
    return record;
  }

  async function remove(entry: Entry): Promise<void> {
    await entry.task.destroy();
    entry.abort.abort();
    await entry.running?.catch(() => undefined);
    await locks.release(entry.job.id).catch(() => undefined);
  }

  return {
    async set(jobs) {
      if (stopped) return;
      const wanted = new Map(jobs.map((j) => [j.id, j]));
      for (const [id, entry] of entries) {
        const next = wanted.get(id);
        if (!next || next.fingerprint !== entry.job.fingerprint) {
          entries.delete(id);
          await remove(entry);
        } else entry.job = next;
      }
      for (const job of jobs) {
        if (entries.has(job.id)) continue;
        const entry: Entry = {
          job,
          skipped: 0,
          abort: new AbortController(),
          task: undefined as never,
        };
        entry.task = createTask(
          job.cron,
          () => void tick(entry).catch(() => undefined),
          job.timezone,
        );
        entries.set(job.id, entry);
        await entry.task.start();
        logger.info(
          { schedule: job.name, site: job.site, cron: job.cron, timezone: job.timezone },
          "schedule started",
        );
      }
    },
    async trigger(id) {
      const entry = entries.get(id);
      return entry ? tick(entry) : "unknown";
    },
    running: () => [...entries.values()].filter((e) => e.running).map((e) => e.job.id),
    jobs: () => [...entries.values()].map((e) => e.job),
    async stop() {
      stopped = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map(remove));
      await locks.close();
    },
  };
}
