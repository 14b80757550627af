/**
 * Aggregations on a real SQLite store: counters to quantities per window, machine states to
 * downtime intervals, telemetry to summaries; state that survives a new aggregator (a restart)
 * and compare-and-set writes that refuse to commit on top of a lost commit.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createAggregator,
  type Aggregator,
  type AggregationTarget,
  type Fields,
} from "../../sidecar/src/pipeline/aggregation/aggregator.js";
import { parseAggregation } from "../../sidecar/src/pipeline/aggregation/spec.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";

const T0 = Date.parse("2026-11-26T08:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const MIN = 60;

let store: Store;
beforeEach(async () => {
  store = await openStore(join(mkdtempSync(join(tmpdir(), "pb-agg-")), "store.db"));
});
afterEach(() => store.close());

async function aggregator(): Promise<Aggregator> {
  const a = createAggregator({ store });
  await a.ensureLoaded();
  return a;
}

/** Applies one message (received when its readings were taken) and commits its writes. */
async function feed(a: Aggregator, target: AggregationTarget, samples: Fields[], key: string) {
  const last = samples.map((x) => Date.parse(String(x.occurredAt))).sort((x, y) => y - x)[0];
  const out = a.apply(target, samples, key, last ?? T0);
  await store.setState(a.takeWrites(target.ref));
  return out;
}

const reading = (seconds: number, quantity: number, extra: Fields = {}) => ({
  type: "production",
  site: "main",
  order: "WH/MO/00001",
  quantity,
  occurredAt: at(seconds),
  ...extra,
});

describe("counter aggregation", () => {
  const target: AggregationTarget = {
    ref: "m1",
    spec: parseAggregation({ window: "5m", rollover: 65536 }, "production", "UTC")!,
  };

  it("posts the increase of a running total once per window, across a restart", async () => {
    let a = await aggregator();
    expect((await feed(a, target, [reading(0, 100)], "k0")).events).toEqual([]); // baseline
    await feed(a, target, [reading(60, 110)], "k1");
    await feed(a, target, [reading(60, 110)], "k1"); // redelivered: not counted again
    a = await aggregator(); // a restart: the state comes back from the store
    await feed(a, target, [reading(120, 125)], "k2");
    const closed = await feed(a, target, [reading(5 * MIN + 1, 130)], "k3");
    expect(closed.events).toEqual([
      {
        type: "production",
        site: "main",
        order: "WH/MO/00001",
        quantity: 25,
        occurredAt: at(5 * MIN),
        attributes: { windowStart: at(0), windowEnd: at(5 * MIN), readings: 2 },
        id: expect.stringMatching(/^m1-w[0-9a-f]{16}-/),
      },
    ]);
    const tick = a.tick(target, T0 + 10 * MIN * 1000 + 5000);
    expect(tick.events.map((e) => [e.quantity, e.occurredAt])).toEqual([[5, at(10 * MIN)]]);
  });

  it("counts a reset from zero and a wrap-around at the rollover", async () => {
    const a = await aggregator();
    await feed(a, target, [reading(0, 65530)], "a");
    await feed(a, target, [reading(10, 4)], "b"); // wrapped: 6 + 4
    const plain = {
      ...target,
      ref: "m2",
      spec: parseAggregation({ window: "5m" }, "production", "UTC")!,
    };
    await feed(a, plain, [reading(0, 500)], "c");
    await feed(a, plain, [reading(10, 7)], "d"); // reset to 0, then 7 counted
    const now = T0 + 6 * MIN * 1000;
    expect(a.tick(target, now).events.map((e) => e.quantity)).toEqual([10]);
    expect(a.tick(plain, now).events.map((e) => e.quantity)).toEqual([7]);
  });

  it("counts delta readings once per message, and posts a late one on its own", async () => {
    const delta = {
      ref: "m3",
      spec: parseAggregation({ window: "5m", mode: "delta" }, "scrap", "UTC")!,
    };
    const a = await aggregator();
    const scrap = (seconds: number, quantity: number) => ({
      type: "scrap",
      site: "main",
      product: "FURN_7800",
      quantity,
      occurredAt: at(seconds),
    });
    await feed(a, delta, [scrap(10, 2), scrap(20, 1)], "m-1");
    await feed(a, delta, [scrap(10, 2), scrap(20, 1)], "m-1"); // redelivery
    const next = await feed(a, delta, [scrap(5 * MIN + 10, 1)], "m-2");
    expect(next.events.map((e) => e.quantity)).toEqual([3]);
    const late = await feed(a, delta, [scrap(30, 4)], "m-3");
    expect(late.events.map((e) => [e.quantity, String(e.id).includes("-late-")])).toEqual([
      [4, true],
    ]);
  });

  it("lets a source replaying old readings close its own windows, not the wall clock", async () => {
    const a = await aggregator();
    const later = T0 + 3 * 3_600_000; // the node's store-and-forward, delivered 3 h late
    const replay = async (seconds: number, total: number, key: string) => {
      const out = a.apply(target, [reading(seconds, total)], key, later + seconds * 10);
      await store.setState(a.takeWrites(target.ref));
      return out.events.map((e) => [e.quantity, e.occurredAt]);
    };
    await replay(0, 100, "r0");
    await replay(60, 110, "r1");
    expect(a.tick(target, later + 1000).events).toEqual([]); // its window is open in its time
    await replay(120, 130, "r2");
    // A reading of the next window closes the first one.
    expect(await replay(5 * MIN + 30, 135, "r3")).toEqual([[30, at(5 * MIN)]]);
    const silentFor = later + 5 * MIN * 10 + 11 * MIN * 1000; // no reading for a whole window
    const closed = a.tick(target, silentFor).events;
    expect(closed.map((e) => [e.quantity, e.occurredAt])).toEqual([[5, at(10 * MIN)]]);
  });

  it("does not commit a write whose previous write was lost", async () => {
    const a = await aggregator();
    await feed(a, target, [reading(0, 1)], "x");
    a.apply(target, [reading(10, 5)], "y", T0);
    a.takeWrites(target.ref); // submitted, but its commit fails (never written here)
    a.apply(target, [reading(20, 9)], "z", T0);
    await expect(store.setState(a.takeWrites(target.ref))).rejects.toMatchObject({
      code: "state_conflict",
    });
  });

  it("counts per shift in the plant's time zone, across a restart", async () => {
    // 06:00, 14:00, 22:00 in Berlin (UTC+1 in November): 05:00Z, 13:00Z, 21:00Z
    const shift = {
      ref: "m4",
      spec: parseAggregation(
        { window: "shift", shifts: ["22:00", "06:00", "14:00"] },
        "production",
        "Europe/Berlin",
      )!,
    };
    const utc = (hhmm: string) => `2026-11-26T${hhmm}:00.000Z`;
    const total = (hhmm: string, quantity: number) => ({
      ...reading(0, quantity),
      occurredAt: utc(hhmm),
    });
    let a = await aggregator();
    await feed(a, shift, [total("08:00", 100)], "s0"); // the baseline (not a reading counted)
    await feed(a, shift, [total("12:00", 150)], "s1");
    await feed(a, shift, [total("12:00", 150)], "s1"); // redelivered: not counted again
    a = await aggregator(); // a restart in the middle of the shift
    expect((await feed(a, shift, [total("12:59", 170)], "s2")).events).toEqual([]);
    // the first reading of the afternoon shift closes the morning one
    const closed = await feed(a, shift, [total("13:01", 180)], "s3");
    expect(closed.events).toEqual([
      {
        type: "production",
        site: "main",
        order: "WH/MO/00001",
        quantity: 70,
        occurredAt: utc("13:00"),
        attributes: { windowStart: utc("05:00"), windowEnd: utc("13:00"), readings: 2 },
        id: expect.stringMatching(/^m4-w[0-9a-f]{16}-/),
      },
    ]);
    await feed(a, shift, [total("20:30", 195)], "s4");
    // still the afternoon shift at 21:59 Berlin: nothing closes yet
    expect(a.tick(shift, Date.parse(utc("20:59"))).events).toEqual([]);
    // the night shift has begun (and the lateness passed): the afternoon shift is posted
    const night = a.tick(shift, Date.parse(utc("21:10")));
    expect(night.events.map((e) => [e.quantity, e.occurredAt, e.attributes])).toEqual([
      [25, utc("21:00"), { windowStart: utc("13:00"), windowEnd: utc("21:00"), readings: 2 }],
    ]);
    await store.setState(a.takeWrites(shift.ref));
    // posted once: a restart does not post it again
    a = await aggregator();
    expect(a.tick(shift, Date.parse(utc("21:20"))).events).toEqual([]);
  });

  it("refuses readings without a number", async () => {
    const a = await aggregator();
    const out = await feed(a, target, [reading(0, 1), { ...reading(1, 1), quantity: "7" }], "e");
    expect(out.errors.map((e) => e.message)).toEqual([expect.stringContaining('"quantity"')]);
  });
});

describe("machine state aggregation", () => {
  const status = (seconds: number, s: string, reason?: string) => ({
    type: "machine_status",
    site: "main",
    workcenter: "Drill 1",
    status: s,
    occurredAt: at(seconds),
    ...(reason && { reason }),
  });

  it("turns flapping states into non-overlapping downtime intervals, status only on change", async () => {
    const target = {
      ref: "m4",
      spec: parseAggregation(
        { down: ["down", "setup"], minDuration: "10s" },
        "machine_status",
        "UTC",
      )!,
    };
    const a = await aggregator();
    const flaps: Array<[number, string, string?]> = [
      [0, "running"],
      [5, "running"],
      [10, "down", "Equipment Failure"],
      [40, "running"],
      [41, "down"],
      [45, "running"], // 4 s: under minDuration
      [50, "setup"],
      [50, "setup"], // repeated
      [45, "down"], // out of order
      [90, "down"], // down after setup: setup closes, down opens
      [120, "idle"],
    ];
    const events: Fields[] = [];
    for (const [i, [s, st, reason]] of flaps.entries())
      events.push(...(await feed(a, target, [status(s, st, reason)], `k${i}`)).events);
    const downtime = events.filter((e) => e.type === "downtime");
    expect(downtime.map((d) => [d.start, d.end, d.reason, d.description])).toEqual([
      [at(10), at(40), "Equipment Failure", `down from ${at(10)}`],
      [at(50), at(90), "availability", `setup from ${at(50)}`],
      [at(90), at(120), "availability", `down from ${at(90)}`],
    ]);
    for (let i = 1; i < downtime.length; i++)
      expect(Date.parse(String(downtime[i]!.start))).toBeGreaterThanOrEqual(
        Date.parse(String(downtime[i - 1]!.end)),
      );
    expect(events.filter((e) => e.type === "machine_status").map((e) => e.status)).toEqual([
      "running",
      "down",
      "running",
      "down",
      "running",
      "setup",
      "down",
      "idle",
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it("cuts a downtime at shift changes, also while it lasts", async () => {
    const target = {
      ref: "m5",
      spec: parseAggregation(
        { shifts: ["06:00", "14:00", "22:00"], emitStatus: false },
        "machine_status",
        "UTC",
      )!,
    };
    const a = await aggregator();
    // 08:00 UTC + 5h50 = 13:50: down; the 14:00 shift change passes while it is down.
    await feed(a, target, [status(350 * MIN, "down")], "a");
    const live = a.tick(target, T0 + 370 * MIN * 1000);
    await store.setState(a.takeWrites("m5"));
    expect(live.events.map((d) => [d.start, d.end])).toEqual([[at(350 * MIN), at(360 * MIN)]]);
    const end = await feed(a, target, [status(380 * MIN, "running")], "b");
    expect(end.events.map((d) => [d.start, d.end])).toEqual([[at(360 * MIN), at(380 * MIN)]]);
  });
});

describe("telemetry aggregation", () => {
  it("posts one summary per window, failing when a reading left the limits", async () => {
    const target = {
      ref: "m6",
      spec: parseAggregation({ window: "1m", low: 10, high: 80 }, "quality", "UTC")!,
    };
    const a = await aggregator();
    const temp = (seconds: number, value: number) => ({
      type: "quality",
      site: "main",
      test: "Spindle temperature",
      unit: "°C",
      value,
      result: "pass",
      occurredAt: at(seconds),
    });
    const events: Fields[] = [];
    for (const [i, [s, v]] of [
      [0, 40],
      [20, 60],
      [40, 85],
      [61, 50],
    ].entries())
      events.push(...(await feed(a, target, [temp(s!, v!)], `t${i}`)).events);
    events.push(...a.tick(target, T0 + 3 * MIN * 1000).events);
    expect(events).toEqual([
      expect.objectContaining({
        value: 61.666667,
        result: "fail",
        occurredAt: at(MIN),
        attributes: { windowStart: at(0), windowEnd: at(MIN), min: 40, max: 85, count: 3 },
      }),
      expect.objectContaining({ value: 50, result: "pass", occurredAt: at(2 * MIN) }),
    ]);
  });
});

describe("aggregation limits", () => {
  it("refuses a reading whose other fields are too large to keep with its window", async () => {
    const target = { ref: "m7", spec: parseAggregation({ window: "1m" }, "production", "UTC")! };
    const a = await aggregator();
    const out = await feed(
      a,
      target,
      [reading(0, 1, { attributes: { dump: "x".repeat(20_000) } })],
      "big",
    );
    expect(out.errors.map((e) => e.message)).toEqual([expect.stringContaining("16384")]);
    expect(await store.listState("agg/m7/")).toEqual([]);
  });
});
