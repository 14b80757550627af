/**
 * One runner per schedule across sidecars sharing a PostgreSQL store: the advisory lock of a
 * schedule is held by one sidecar from run to run; when that sidecar's connection goes, a standby
 * takes over at its next tick.
 */
import pg from "pg";
import { createLogger } from "../../sidecar/src/logger.js";
import { createPgAdvisoryLocks, lockKey } from "../../sidecar/src/scheduler/locks.js";
import { createScheduler, type ScheduledJob } from "../../sidecar/src/scheduler/scheduler.js";
import { createTestDatabase, randomName, serviceAvailable } from "../helpers/services.js";

const up = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);
const logger = createLogger({ level: "silent" });

(up ? describe : describe.skip)("schedule runner election on PostgreSQL", () => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase("pb_locks");
  });
  afterAll(() => db.drop());

  it("lets one sidecar run a schedule and a standby take over when it goes", async () => {
    const name = randomName("main/schedule");
    const a = createPgAdvisoryLocks({ connectionString: db.url, logger });
    const b = createPgAdvisoryLocks({ connectionString: db.url, logger });
    expect(await a.acquire(name)).toBe(true);
    expect(await b.acquire(name)).toBe(false);
    expect(await a.acquire(name)).toBe(true); // kept from run to run
    expect(await b.acquire(name)).toBe(false);
    expect(a.held()).toEqual([name]);

    // the runner's connection is killed (crash, network): the standby takes over
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // pg_locks shows a bigint key as two unsigned 32-bit halves
    const unsigned = BigInt.asUintN(64, BigInt(lockKey(name))).toString();
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::text::numeric * 4294967296 + objid::text::numeric = $1::numeric",
      [unsigned],
    );
    expect(killed.rowCount).toBe(1);
    await admin.end();
    await new Promise((r) => setTimeout(r, 200));
    expect(await b.acquire(name)).toBe(true);
    expect(a.held()).toEqual([]);
    expect(await a.acquire(name)).toBe(false);

    await b.release(name);
    expect(await a.acquire(name)).toBe(true);
    await a.close();
    await b.close();
  });

  it("runs a schedule on one of two schedulers", async () => {
    const runs: string[] = [];
    const job = (who: string): ScheduledJob => ({
      id: "main/schedule/42",
      site: "main",
      scheduleId: 42,
      name: "pull",
      cron: "0 0 1 1 *",
      timezone: "UTC",
      fingerprint: "1",
      run: async () => {
        runs.push(who);
        return { rows: 0, accepted: 0, duplicates: 0, rejected: 0, notes: [] };
      },
    });
    const schedulers = ["a", "b"].map((who) => {
      const s = createScheduler({
        locks: createPgAdvisoryLocks({ connectionString: db.url, logger }),
        logger,
      });
      return { who, s };
    });
    for (const { who, s } of schedulers) await s.set([job(who)]);
    const outcomes = [];
    for (let i = 0; i < 3; i++)
      for (const { s } of schedulers) outcomes.push(await s.trigger("main/schedule/42"));
    expect(runs).toEqual(["a", "a", "a"]);
    expect(outcomes.filter((o) => o === "not_runner")).toHaveLength(3);
    await schedulers[0]!.s.stop(); // releases its locks
    expect(await schedulers[1]!.s.trigger("main/schedule/42")).toMatchObject({ state: "done" });
    expect(runs).toEqual(["a", "a", "a", "b"]);
    await schedulers[1]!.s.stop();
  });
});
