/**
 * The posting worker's mechanics on a real SQLite store, with a scripted Odoo client standing in
 * for the HTTP side (what Odoo itself does is proven by test/e2e/sidecar-odoo.test.ts): per-event
 * answers settle the store, a refused call is bisected to isolate the bad event, transient
 * failures keep everything buffered and in order, configuration failures pause posting.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import { ConfigError, PermanentError, TransientError } from "../../sidecar/src/errors.js";
import {
  createPostingWorker,
  splitByLane,
  splitByObject,
  type PostResult,
} from "../../sidecar/src/odoo/posting-worker.js";
import type { IBackoff } from "cockatiel";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor } from "../../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { OutboxRow, Store } from "../../sidecar/src/store/types.js";
import { samples } from "../helpers/samples.js";

type Post = (events: Array<Record<string, unknown>>) => Promise<PostResult[]>;

function scriptedClient(
  post: Post,
  healthy: () => boolean = () => true,
): OdooClient & { calls: Array<Array<Record<string, unknown>>> } {
  const calls: Array<Array<Record<string, unknown>>> = [];
  return {
    calls,
    protocol: () => "json2",
    version: async () => [19, 0],
    healthy: async () => healthy(),
    async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
      if (method !== "post_events") throw new Error(`unexpected call ${method}`);
      const events = kwargs.events as Array<Record<string, unknown>>;
      calls.push(events);
      return (await post(events)) as T;
    },
    close: async () => undefined,
  };
}

const applied = (e: Record<string, unknown>): PostResult => ({
  id: String(e.id),
  site: String(e.site),
  status: "applied",
  ref: { model: "stock.scrap", id: 1 },
});

let store: Store;
let clock: number;
const logger = createLogger({ level: "silent" });

async function ingest(events: object[], bus = new Bus()): Promise<void> {
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus,
  });
  await ingestor.ingest(
    events.map((event) => ({ kind: "event" as const, event: event as never })),
    { source: "mqtt", origin: "test" },
  );
}

function worker(
  client: OdooClient,
  extra: Partial<Parameters<typeof createPostingWorker>[0]> = {},
) {
  return createPostingWorker({
    store,
    client,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
    sidecar: "test",
    now: () => clock,
    ...extra,
  });
}

const scraps = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ ...samples.scrap, id: `${prefix}${i}` }));

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(async () => {
  store = await openStore(":memory:");
  clock = Date.parse("2026-11-26T10:00:00Z");
});
afterEach(async () => {
  await store.close();
});

describe("posting worker", () => {
  it("settles applied, duplicate and rejected answers; a rejection becomes a dead letter", async () => {
    await ingest([
      { ...samples.scrap, id: "a" },
      { ...samples.scrap, id: "b" },
      { ...samples.scrap, id: "c" },
    ]);
    const client = scriptedClient(async (events) =>
      events.map((e) =>
        e.id === "b"
          ? {
              id: "b",
              site: "main",
              status: "duplicate",
              original_status: "applied",
              ref: { model: "stock.scrap", id: 7 },
            }
          : e.id === "c"
            ? {
                id: "c",
                site: "main",
                status: "rejected",
                code: "unknown_product",
                message: "no such product",
              }
            : applied(e),
      ),
    );
    expect(await worker(client).runOnce()).toBe(3);
    const rows = await store.listMessages({ site: "main" });
    expect(Object.fromEntries(rows.map((r) => [r.eventId, [r.state, r.ref]]))).toEqual({
      a: ["applied", "stock.scrap,1"],
      b: ["duplicate", "stock.scrap,7"],
      c: ["dead", null],
    });
    const [dl] = await store.listDeadLetters({ site: "main" });
    expect(dl).toMatchObject({
      eventId: "c",
      code: "unknown_product",
      inInbox: true,
      state: "open",
    });
    // the events reached Odoo with where they came from, for the trace
    expect(client.calls[0]![0]).toMatchObject({
      id: "a",
      source: "mqtt",
      origin: "test",
      receivedAt: expect.any(String),
    });
  });

  it("keeps a deferred event and everything after it on the same order waiting, in order", async () => {
    const order = (id: string) => ({ ...samples.production, id, order: "WH/MO/00009" });
    await ingest([order("p1"), order("p2"), { ...samples.scrap, id: "other" }]);
    let ready = false;
    const client = scriptedClient(async (events) =>
      events.map((e) =>
        e.type === "production" && !ready
          ? {
              id: String(e.id),
              site: "main",
              status: "deferred",
              code: "order_not_ready",
              retry_after: 30,
            }
          : applied(e),
      ),
    );
    const w = worker(client);
    await w.runOnce();
    expect(
      (await store.listMessages({ site: "main", state: "applied" })).map((r) => r.eventId),
    ).toEqual(["other"]);
    expect(await w.runOnce()).toBe(0); // not due yet: nothing is posted early
    ready = true;
    clock += 31_000;
    expect(await w.runOnce()).toBe(2);
    expect(client.calls.at(-1)!.map((e) => e.id)).toEqual(["p1", "p2"]);
    expect(
      (await store.listMessages({ site: "main", state: "applied" })).map((r) => r.eventId).sort(),
    ).toEqual(["other", "p1", "p2"]);
  });

  it("bisects a call Odoo refuses as a whole (422) down to the one bad event", async () => {
    await ingest(Array.from({ length: 8 }, (_, i) => ({ ...samples.scrap, id: `e${i}` })));
    const client = scriptedClient(async (events) => {
      if (events.some((e) => e.id === "e5"))
        throw new PermanentError("odoo_rejected", "malformed event");
      return events.map(applied);
    });
    await worker(client).runOnce();
    const rows = await store.listMessages({ site: "main" });
    expect(rows.filter((r) => r.state === "applied")).toHaveLength(7);
    expect(rows.find((r) => r.eventId === "e5")?.state).toBe("dead");
    expect(client.calls.map((c) => c.length)).toEqual([8, 4, 4, 2, 1, 1, 2]);
  });

  it("keeps everything buffered on transient failures, backs off, and opens the circuit", async () => {
    await ingest([{ ...samples.scrap, id: "t1" }]);
    let fail = true;
    const client = scriptedClient(async (events) => {
      if (fail) throw new TransientError("odoo_unavailable", "503");
      return events.map(applied);
    });
    const w = worker(client, { breakerThreshold: 3, halfOpenAfterMs: 5000 });
    for (let i = 0; i < 3; i++) {
      expect(await w.runOnce()).toBe(1);
      clock += 61_000; // past any backoff
    }
    expect(w.status().circuit).toBe("open");
    expect((await store.listMessages({ site: "main" }))[0]).toMatchObject({
      state: "pending",
      attempts: 3,
    });
    // While open, no call reaches Odoo; the event stays buffered.
    await w.runOnce();
    expect(client.calls).toHaveLength(3);
    fail = false;
    await new Promise((r) => setTimeout(r, 5100)); // the breaker's half-open timer is real time
    clock += 61_000;
    await w.runOnce();
    expect(w.status().circuit).toBe("closed");
    expect((await store.listMessages({ site: "main" }))[0]).toMatchObject({ state: "applied" });
  }, 15_000);

  it("lingers for a partial batch but posts as soon as a full batch is waiting", async () => {
    const bus = new Bus();
    const client = scriptedClient(async (events) => events.map(applied));
    const w = worker(client, { bus, batchSize: 5, lingerMs: 3000 });
    w.start();
    try {
      const t0 = performance.now();
      await ingest(scraps("a", 2), bus);
      await new Promise((r) => setTimeout(r, 100));
      expect(client.calls).toHaveLength(0); // lingering for more
      await ingest(scraps("b", 3), bus);
      await until(() => client.calls.length === 1);
      expect(performance.now() - t0).toBeLessThan(2000); // not the whole 3 s linger
      expect(client.calls[0]!.map((e) => e.id)).toEqual(["a0", "a1", "b0", "b1", "b2"]);
    } finally {
      await w.stop();
    }
  }, 15_000);

  it("posts events that waited during a call right after it, without lingering again", async () => {
    const bus = new Bus();
    let release: (() => void) | undefined;
    const client = scriptedClient(async (events) => {
      if (events[0]!.id === "a0") await new Promise<void>((r) => (release = r));
      return events.map(applied);
    });
    const w = worker(client, { bus, batchSize: 10, lingerMs: 1500 });
    w.start();
    try {
      await ingest(scraps("a", 2), bus);
      await until(() => release !== undefined); // the first call, after its linger, in flight
      await ingest(scraps("b", 2), bus);
      await new Promise((r) => setTimeout(r, 1600)); // b0, b1 have waited a whole linger
      const released = performance.now();
      release!();
      await until(() => client.calls.length === 2);
      expect(performance.now() - released).toBeLessThan(1000); // no second 1.5 s linger
      expect(client.calls.map((c) => c.map((e) => e.id))).toEqual([
        ["a0", "a1"],
        ["b0", "b1"],
      ]);
    } finally {
      await w.stop();
    }
  }, 15_000);

  it("pauses posting on a configuration failure (bad API key) without losing anything", async () => {
    await ingest([{ ...samples.scrap, id: "k1" }]);
    let revoked = true;
    const client = scriptedClient(async (events) => {
      if (revoked) throw new ConfigError("odoo_auth", "invalid API key");
      return events.map(applied);
    });
    const w = worker(client, { configPauseMs: 60_000 });
    await w.runOnce();
    expect(w.status().paused).toMatch(/odoo_auth/);
    clock += 30_000;
    expect(await w.runOnce()).toBe(0); // paused
    revoked = false;
    clock += 31_000;
    expect(await w.runOnce()).toBe(1);
    expect(w.status().paused).toBeNull();
    expect((await store.listMessages({ site: "main" }))[0]).toMatchObject({
      state: "applied",
      attempts: 2,
    });
  });
});

describe("concurrent posting calls", () => {
  const downtimes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      ...samples.downtime,
      id: `dt${i}`,
      workcenter: ["Drill 1", "Assembly 1", "Assembly 2"][i % 3]!,
    }));

  it("splits a batch by business object: each object in one call, in order, calls of even size", () => {
    const keys = ["A", "A", "B", "C", "B", "C", "C"];
    const rows = keys.map((orderKey, seq) => ({ seq, orderKey }) as OutboxRow);
    const calls = splitByObject(rows, 2);
    expect(calls.map((c) => c.map((r) => `${r.orderKey}${r.seq}`))).toEqual([
      ["C3", "C5", "C6"],
      ["A0", "A1", "B2", "B4"],
    ]);
    expect(splitByObject(rows, 1)).toEqual([rows]);
    expect(splitByObject(rows, 8)).toHaveLength(3); // never more calls than objects
    const one = rows.filter((r) => r.orderKey === "A");
    expect(splitByObject(one, 4)).toEqual([one]);
  });

  it("posts the critical events of a batch in their own call, ahead of a bulk backlog", async () => {
    await ingest(
      Array.from({ length: 12 }, (_, i) => ({
        ...samples.machine_status,
        id: `ms${i}`,
        workcenter: ["Drill 1", "Assembly 1", "Assembly 2"][i % 3]!,
      })),
    );
    await ingest([{ ...samples.production, id: "p1" }]);
    const client = scriptedClient(async (events) => events.map(applied));
    expect(await worker(client, { batchSize: 13 }).runOnce()).toBe(13);
    // the small call of the production event is not held up by a third of the backlog
    expect(client.calls.map((c) => c.map((e) => e.id))).toContainEqual(["p1"]);
    expect(client.calls).toHaveLength(3);
  });

  it("splits critical and bulk objects into separate calls, the critical ones first", () => {
    const rows = [
      { seq: 1, orderKey: "W1", lane: "bulk" },
      { seq: 2, orderKey: "W2", lane: "bulk" },
      { seq: 3, orderKey: "W1", lane: "critical" },
      { seq: 4, orderKey: "M1", lane: "critical" },
      { seq: 5, orderKey: "W3", lane: "bulk" },
    ] as OutboxRow[];
    const calls = splitByLane(rows, 3).map((c) => c.map((r) => r.seq));
    // W1's state goes with its critical event, in order
    expect(calls).toEqual([[1, 3], [4], [2, 5]]);
    expect(splitByLane(rows, 1)).toEqual([rows]);
  });

  it("has two calls in flight on different work centers, each work center's events in order", async () => {
    await ingest(downtimes(9));
    let inFlight = 0;
    let most = 0;
    let release!: () => void;
    const bothIn = new Promise<void>((r) => (release = r));
    const client = scriptedClient(async (events) => {
      most = Math.max(most, ++inFlight);
      if (inFlight === 2) release();
      await bothIn; // each call waits until the other one is in flight too
      inFlight--;
      return events.map(applied);
    });
    expect(await worker(client, { concurrency: 2 }).runOnce()).toBe(9);
    expect(most).toBe(2);
    expect(client.calls).toHaveLength(2);
    for (const wc of ["Drill 1", "Assembly 1", "Assembly 2"]) {
      const holding = client.calls.filter((c) => c.some((e) => e.workcenter === wc));
      expect(holding).toHaveLength(1);
      const ids = holding[0]!.filter((e) => e.workcenter === wc).map((e) => e.id);
      expect(ids).toEqual(
        downtimes(9)
          .filter((e) => e.workcenter === wc)
          .map((e) => e.id),
      );
    }
    expect((await store.stats()).sites.find((s) => s.site === "main")?.pending ?? 0).toBe(0);
  });

  it("a call that fails leaves its work centers buffered while the other call's events apply", async () => {
    await ingest(downtimes(6));
    const client = scriptedClient(async (events) => {
      if (events.some((e) => e.workcenter === "Drill 1"))
        throw new TransientError("odoo_unavailable", "Odoo answered 503");
      return events.map(applied);
    });
    await worker(client, { concurrency: 2 }).runOnce();
    const rows = await store.listMessages({ site: "main", limit: 10 });
    const state = Object.fromEntries(rows.map((r) => [r.eventId, r.state]));
    const failed = new Set(
      client.calls.find((c) => c.some((e) => e.workcenter === "Drill 1"))!.map((e) => e.id),
    );
    expect(client.calls).toHaveLength(2);
    expect(failed.size).toBeLessThan(6);
    for (const e of downtimes(6))
      expect(state[e.id]).toBe(failed.has(e.id) ? "pending" : "applied");
  });

  it("takes one backoff step per round, however many of its calls failed", async () => {
    await ingest(downtimes(6));
    const steps: number[] = [];
    const step = (n: number): IBackoff<unknown> => ({
      duration: 1000 * n,
      next: () => (steps.push(n + 1), step(n + 1)),
    });
    const backoff = { next: () => (steps.push(1), step(1)) };
    const client = scriptedClient(async () => {
      throw new TransientError("odoo_unavailable", "Odoo answered 503");
    });
    const w = worker(client, { concurrency: 3, backoff, breakerThreshold: 100 });
    await w.runOnce();
    expect(client.calls).toHaveLength(3);
    expect(steps).toEqual([1]); // not [1, 2, 3]: the next attempt is one step out, not three
    clock += 1000;
    await w.runOnce();
    expect(client.calls).toHaveLength(6);
    expect(steps).toEqual([1, 2]);
  });

  it("resumes as soon as Odoo answers its health check, not when the backoff ends", async () => {
    await ingest(scraps("h", 3));
    let down = true;
    const client = scriptedClient(
      async (events) => {
        if (down) throw new TransientError("odoo_unreachable", "connect ECONNREFUSED");
        return events.map(applied);
      },
      () => !down,
    );
    const w = worker(client, { probeMs: 20 });
    w.start();
    try {
      await until(() => client.calls.length === 1);
      const [row] = await store.listMessages({ state: "pending" });
      expect(row).toMatchObject({ lastCode: "odoo_unreachable" });
      down = false;
      // The fake clock never moves: only the health probe can make the retries due again.
      await until(() => client.calls.length === 2, 3000);
      await until(() => w.status().lastSuccessAt !== null, 3000);
      const states = (await store.listMessages({ site: "main" })).map((m) => m.state);
      expect(states).toEqual(["applied", "applied", "applied"]);
    } finally {
      await w.stop();
    }
  });

  it("does not wait for the health check when Odoo answers but refuses (503 keeps the backoff)", async () => {
    await ingest(scraps("o", 1));
    let probes = 0;
    const client = scriptedClient(
      async () => {
        throw new TransientError("odoo_unavailable", "503", { detail: { status: 503 } });
      },
      () => (probes++, true),
    );
    const w = worker(client, { probeMs: 10 });
    w.start();
    try {
      await until(() => client.calls.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(probes).toBe(0);
      expect(client.calls).toHaveLength(1); // the retry waits for its backoff (fake clock)
    } finally {
      await w.stop();
    }
  });

  it("takes over at once the leases of a sidecar process that died on this host", async () => {
    await ingest([
      ...downtimes(2).map((d) => ({ ...d, workcenter: "WC-A" })),
      { ...samples.scrap, id: "live-held" },
    ]);
    const all = await store.listMessages({ site: "main" });
    expect(all).toHaveLength(3);
    const gone = spawnSync("true").pid; // a process that has exited
    const deadOwner = `old@${hostname()}#${gone}#abcdef`;
    const liveOwner = `other@${hostname()}#${process.pid}#123456`;
    const [first] = await store.lease({ owner: deadOwner, limit: 1, now: clock, leaseMs: 120_000 });
    const held = await store.lease({ owner: liveOwner, limit: 10, now: clock, leaseMs: 120_000 });
    expect(held.map((r) => r.eventId)).toEqual(["live-held"]);
    const client = scriptedClient(async (events) => events.map(applied));
    const w = worker(client);
    w.start(); // looks for dead holders at once (the fake clock is still inside their leases)
    try {
      await until(() => client.calls.flat().length === 2);
    } finally {
      await w.stop();
    }
    // the dead process's row and the one behind it on the same work center: posted in order
    expect(client.calls.flat().map((e) => e.id)).toEqual([first!.eventId, all[1]!.eventId]);
    const states = Object.fromEntries(
      (await store.listMessages({ site: "main" })).map((m) => [m.eventId, m.state]),
    );
    expect(states["live-held"]).toBe("leased"); // a live process keeps its lease
  });

  it("keeps a retry's remaining wait when the wall clock is set back", async () => {
    await ingest(scraps("c", 1));
    let fail = true;
    const client = scriptedClient(async (events) => {
      if (fail) throw new TransientError("odoo_unavailable", "503", { detail: { status: 503 } });
      return events.map(applied);
    });
    const tenSeconds: IBackoff<unknown> = { duration: 10_000, next: () => tenSeconds };
    const w = worker(client, { backoff: { next: () => tenSeconds } });
    expect(await w.runOnce()).toBe(1); // fails: retry in 10 s
    fail = false;
    clock -= 3_600_000; // NTP sets the clock back by an hour
    expect(await w.runOnce()).toBe(0); // the 10 s are not over
    clock += 10_000;
    expect(await w.runOnce()).toBe(1); // not an hour later
    expect((await store.listMessages({ site: "main" }))[0]).toMatchObject({ state: "applied" });
  });

  it("declares its environment with every batch when it has one", async () => {
    await ingest(scraps("e", 2));
    const kwargs: Array<Record<string, unknown>> = [];
    const client: OdooClient = {
      protocol: () => "json2",
      version: async () => [19, 0],
      healthy: async () => true,
      async call<T>(_model: string, _method: string, k: Record<string, unknown> = {}) {
        kwargs.push(k);
        return (k.events as Array<Record<string, unknown>>).map(applied) as T;
      },
      close: async () => undefined,
    };
    await worker(client, { environment: "test" }).runOnce();
    expect(kwargs.map((k) => k.environment)).toEqual(["test"]);
  });
});

describe("posting windows", () => {
  const hold = {
    id: 1,
    name: "Period close",
    event_class: "production",
    mode: "hold" as const,
    start: "2026-11-26T09:00:00Z",
    end: "2026-11-26T12:00:00Z",
  };

  it("keeps an event waiting, not failed, during a hold and posts it once the hold ends", async () => {
    await ingest([
      { ...samples.production, id: "p1" },
      { ...samples.production, id: "p2" }, // same order: waits behind p1
      { ...samples.machine_status, id: "ms1" },
    ]);
    const client = scriptedClient(async (events) => events.map(applied));
    const w = worker(client, {
      windowsOf: (site) => (site === "main" ? { timezone: "UTC", windows: [hold] } : undefined),
    });
    await w.runOnce();
    expect(client.calls.flat().map((e) => e.id)).toEqual(["ms1"]);
    const waiting = await store.listMessages({ site: "main", type: "production" });
    expect(waiting.map((m) => [m.eventId, m.state, m.lastCode])).toEqual([
      ["p2", "pending", "held"],
      ["p1", "pending", "held"],
    ]);
    expect(waiting[1]!.lastMessage).toContain("Period close");
    expect(waiting[1]!.lastMessage).toContain("2026-11-26T12:00:00.000Z");
    // still held a minute before the end: nothing is posted
    clock = Date.parse("2026-11-26T11:59:00Z");
    expect(await w.runOnce()).toBe(0);
    clock = Date.parse("2026-11-26T12:00:00Z");
    await w.runOnce();
    expect(client.calls.flat().map((e) => e.id)).toEqual(["ms1", "p1", "p2"]);
    expect((await store.listMessages({ site: "main" })).every((m) => m.state === "applied")).toBe(
      true,
    );
  });
});
