/**
 * The ingestor's group commit with state writes, on a real SQLite store: callers are merged into
 * one transaction, and a caller's failed compare-and-set or refused write fails that caller only.
 */
import type { ParsedItem } from "../../sidecar/src/canonical/parse.js";
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createSqliteStore } from "../../sidecar/src/store/sqlite/sqlite-store.js";
import type { IngestItem, IngestOptions, Store } from "../../sidecar/src/store/types.js";
import { production } from "../contract/fixtures.js";

const ctx = { source: "sql" as const, origin: "line1.counts" };
const event = (id: string): ParsedItem => ({ kind: "event", event: production(id) });

describe("ingestor with state writes", () => {
  let store: Store;
  let ingestor: Ingestor;
  /** The event ids and state keys of every `store.ingest` call, in order. */
  let calls: string[][];

  beforeEach(() => {
    const real = createSqliteStore({ path: ":memory:" });
    calls = [];
    store = real;
    const recording: Store = {
      ...real,
      ingest(items: IngestItem[], options?: IngestOptions) {
        calls.push([
          ...items.map((i) => (i.kind === "event" ? i.event.id : "reject")),
          ...(options?.state ?? []).map((w) => `state:${w.key}=${w.value}`),
        ]);
        return real.ingest(items, options);
      },
    };
    ingestor = createIngestor({
      store: recording,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: "silent" }),
      bus: new Bus(),
    });
  });

  afterEach(async () => {
    await store.close();
  });

  const eventIds = async () => (await store.listMessages()).map((m) => m.eventId).sort();

  it("merges callers with state into one transaction when their writes hold", async () => {
    const results = await Promise.all([
      ingestor.ingest([event("a")], ctx),
      ingestor.ingest([event("b")], ctx),
      ingestor.ingest([event("c")], ctx, { state: [{ key: "wm/c", value: "1", expect: null }] }),
      ingestor.ingest([], ctx, { state: [{ key: "reported", value: "7" }] }),
      ingestor.ingest([event("d")], ctx, { state: [{ key: "wm/d", value: "2" }] }),
    ]);
    expect(results.map((r) => r.map((x) => x.status))).toEqual([
      ["accepted"],
      ["accepted"],
      ["accepted"],
      [],
      ["accepted"],
    ]);
    // the first call commits alone, everything submitted meanwhile in one more transaction
    expect(calls).toEqual([
      ["a"],
      ["b", "c", "d", "state:wm/c=1", "state:reported=7", "state:wm/d=2"],
    ]);
    expect(await eventIds()).toEqual(["a", "b", "c", "d"]);
    expect(await store.listState("")).toMatchObject([
      { key: "reported", value: "7" },
      { key: "wm/c", value: "1" },
      { key: "wm/d", value: "2" },
    ]);
  });

  it("fails only the caller whose compare-and-set conflicts; the others commit", async () => {
    await store.setState([{ key: "wm", value: "5" }]);
    const settled = await Promise.allSettled([
      ingestor.ingest([event("first")], ctx),
      ingestor.ingest([event("plain")], ctx),
      ingestor.ingest([event("winner")], ctx, { state: [{ key: "wm", value: "6", expect: "5" }] }),
      ingestor.ingest([event("loser")], ctx, { state: [{ key: "wm", value: "9", expect: "5" }] }),
      ingestor.ingest([event("other")], ctx, { state: [{ key: "wm2", value: "1", expect: null }] }),
    ]);
    expect(settled.map((s) => s.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const reason = (settled[3] as PromiseRejectedResult).reason as unknown;
    expect(reason).toBeInstanceOf(PlantBridgeError);
    expect(reason).toMatchObject({ code: "state_conflict", kind: "transient", retryable: true });
    // merged first, then (nothing committed) again with each writer alone
    expect(calls).toEqual([
      ["first"],
      ["plain", "winner", "loser", "other", "state:wm=6", "state:wm=9", "state:wm2=1"],
      ["plain"],
      ["winner", "state:wm=6"],
      ["loser", "state:wm=9"],
      ["other", "state:wm2=1"],
    ]);
    expect(await eventIds()).toEqual(["first", "other", "plain", "winner"]);
    expect(await store.getState("wm")).toBe("6");
    expect(await store.getState("wm2")).toBe("1");
  });

  it("refuses a write it cannot keep before merging, failing that caller only", async () => {
    const settled = await Promise.allSettled([
      ingestor.ingest([event("first")], ctx),
      ingestor.ingest([event("big")], ctx, {
        state: [{ key: "big", value: "x".repeat(1024 * 1024 + 1) }],
      }),
      ingestor.ingest([event("ok")], ctx, { state: [{ key: "ok", value: "1" }] }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({
      code: "too_large",
      kind: "permanent",
    });
    expect(calls).toEqual([["first"], ["ok", "state:ok=1"]]);
    expect(await eventIds()).toEqual(["first", "ok"]);
    expect(await store.listState("")).toMatchObject([{ key: "ok", value: "1" }]);
  });

  it("retries callers one by one after another failure: one caller's input fails no other", async () => {
    let failures = 1;
    const failing: Store = {
      ...store,
      async ingest(items, options) {
        calls.push(items.map((i) => (i.kind === "event" ? i.event.id : "reject")));
        if (calls.length > 1 && failures-- > 0) throw new Error("disk full (simulated)");
        return store.ingest(items, options);
      },
    };
    const local = createIngestor({
      store: failing,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: "silent" }),
      bus: new Bus(),
    });
    const settled = await Promise.allSettled([
      local.ingest([event("first")], ctx),
      local.ingest([event("b")], ctx, { state: [{ key: "k", value: "1" }] }),
      local.ingest([event("c")], ctx),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    expect(calls).toEqual([["first"], ["b", "c"], ["b"], ["c"]]);
    expect(await eventIds()).toEqual(["b", "c", "first"].sort());
    expect(await store.getState("k")).toBe("1");
    expect(local.health()).toEqual({ ok: true, failures: 0 });
  });

  it("reports a store that commits nothing as a StoreError, and its health", async () => {
    const down: Store = {
      ...store,
      ingest: () => Promise.reject(new Error("SQLITE_FULL: database or disk is full")),
    };
    const local = createIngestor({
      store: down,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: "silent" }),
      bus: new Bus(),
      now: () => 1_000,
    });
    await expect(local.ingest([event("x")], ctx)).rejects.toMatchObject({
      name: "StoreError",
      code: "store_unavailable",
      kind: "transient",
    });
    await expect(local.ingest([event("y")], ctx)).rejects.toThrow(/SQLITE_FULL/);
    expect(local.health()).toMatchObject({ ok: false, failures: 2, since: 1_000 });
  });
});
