/**
 * What every fuzz suite needs around the code under test: a real SQLite store in a temporary
 * directory behind a real ingestor, a record of every outcome the ingestor reported, the checks
 * that each outcome is an acceptance or a known rejection code and that every valid event is
 * in the store exactly once, a watch for unhandled rejections, and a heap measurement.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import fc from "fast-check";
import type { EventType } from "../../sidecar/src/canonical/schema.js";
import { REJECTION_CODES } from "../../sidecar/src/errors.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics, type Metrics } from "../../sidecar/src/metrics.js";
import { Bus, type ProcessedEvent } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { eventType, FUZZ_RUNS, fuzzParams, VALID_EVERY } from "./arbitraries.js";

export const logger = createLogger({ level: "silent" });

const KNOWN_CODES = new Set<string>(REJECTION_CODES);

/** Whether an outcome is an acceptance, a duplicate, or a rejection with a contract code. */
export function isKnownOutcome(o: Pick<ProcessedEvent, "status" | "code">): boolean {
  if (o.status === "accepted") return o.code === null;
  if (o.status === "duplicate") return o.code === "duplicate";
  return o.status === "rejected" && o.code !== null && KNOWN_CODES.has(o.code);
}

export function isRejectionCode(code: unknown): boolean {
  return typeof code === "string" && KNOWN_CODES.has(code);
}

export interface FuzzStore {
  dir: string;
  store: Store;
  ingestor: Ingestor;
  bus: Bus;
  metrics: Metrics;
  /** The outcomes the ingestor reported since the last call, in order (memory stays bounded). */
  takeOutcomes(): ProcessedEvent[];
  close(): Promise<void>;
}

export async function openFuzzStore(): Promise<FuzzStore> {
  const dir = mkdtempSync(join(tmpdir(), "pb-fuzz-"));
  const store = await openStore(join(dir, "store.db"));
  const bus = new Bus();
  const metrics = createMetrics({ defaultMetrics: false });
  const ingestor = createIngestor({ store, metrics, logger, bus });
  let outcomes: ProcessedEvent[] = [];
  bus.on("eventProcessed", (e) => outcomes.push(e));
  return {
    dir,
    store,
    ingestor,
    bus,
    metrics,
    takeOutcomes() {
      const taken = outcomes;
      outcomes = [];
      return taken;
    },
    async close() {
      await ingestor.flush();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The valid events a run sent that are not in the store exactly once (empty when all are):
 * reads every message of the site, page by page.
 */
export async function missingOrDoubled(
  store: Store,
  site: string,
  ids: readonly string[],
): Promise<string[]> {
  const count = new Map<string, number>();
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await store.listMessages({
      site,
      limit: 1000,
      ...(beforeSeq !== undefined && { beforeSeq }),
    });
    for (const m of page) count.set(m.eventId, (count.get(m.eventId) ?? 0) + 1);
    if (page.length < 1000) break;
    beforeSeq = page[page.length - 1]!.seq;
  }
  return ids.filter((id) => count.get(id) !== 1);
}

/** Records unhandled promise rejections while a suite runs (the process would die of one). */
export function watchUnhandled(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", onRejection);
  return { seen, stop: () => process.off("unhandledRejection", onRejection) };
}

/**
 * A full garbage collection, when the runtime lets us have one: `--expose-gc`, or V8's flag set
 * at run time (a fresh context then sees `gc`). Undefined when neither works.
 */
export function gcFunction(): (() => void) | undefined {
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === "function") return global.gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Heap growth allowed over a whole run, after a full GC at both ends. */
export const HEAP_BOUND_BYTES = 64 * 1024 * 1024;

/** Heap used after a full GC, or undefined when no GC can be forced (the check is then skipped). */
export function settledHeap(): number | undefined {
  const gc = gcFunction();
  if (!gc) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Asserts the heap after the run is within `HEAP_BOUND_BYTES` of the heap before it; says so
 * loudly, and checks nothing, when no GC could be forced.
 */
export function expectHeapBounded(name: string, before: number | undefined): void {
  const after = settledHeap();
  if (before === undefined || after === undefined) {
    console.warn(`${name}: no gc() available (run node with --expose-gc): heap bound not checked`);
    return;
  }
  const growth = after - before;
  if (process.env.FUZZ_REPORT) {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    console.log(`${name}: heap ${mib(before)} MiB -> ${mib(after)} MiB (${mib(growth)} MiB)`);
  }
  expect(growth).toBeLessThan(HEAP_BOUND_BYTES);
}

/** A JSON-able form of an input, as kept in test/fuzz/regressions/. */
export type Saved = string | number | boolean | null | Saved[] | { [k: string]: Saved };

/**
 * One code under test, fed input after input. `feed` throws when the code threw, or answered
 * outside the contract (no outcome, an unknown code, a 5xx...).
 */
export interface FuzzTarget<I> {
  name: string;
  feed(input: I): Promise<void>;
  /** Sends the valid event number `n` (of `type`), which must be kept; throws when it is not. */
  feedValid(n: number, type: EventType): Promise<void>;
  /** What is wrong at the end of a run (valid events missing or stored twice). */
  check(): Promise<string[]>;
  /** The input in its kept form (JSON) and back. */
  save(input: I): Saved;
  load(saved: Saved): I;
  close(): Promise<void>;
}

/** Distinct failures of a run: by error and the sidecar frame it came from, smallest input kept. */
export function createCrashLog(target: string) {
  const crashes = new Map<string, { saved: Saved; size: number; count: number; stack: string }>();
  return {
    record(saved: Saved, err: unknown) {
      const e = err instanceof Error ? err : new Error(String(err));
      const firstLine = `${e.name}: ${e.message.split("\n")[0]!.slice(0, 120)}`;
      const frame =
        (e.stack ?? "")
          .split("\n")
          .find((l) => l.includes("sidecar/src/"))
          ?.trim() ?? "";
      const signature = `${firstLine.replace(/\d+/g, "#")} ${frame}`;
      const size = JSON.stringify(saved).length;
      const seen = crashes.get(signature);
      const stack = (e.stack ?? firstLine).split("\n").slice(0, 6).join("\n");
      if (!seen) crashes.set(signature, { saved, size, count: 1, stack });
      else {
        seen.count++;
        if (size < seen.size) Object.assign(seen, { saved, size, stack });
      }
    },
    /**
     * One line per distinct failure, its smallest input written under FUZZ_CRASH_DIR (default:
     * the temporary directory) so that it can become a regression input.
     */
    summary(): string[] {
      const dir = process.env.FUZZ_CRASH_DIR ?? join(tmpdir(), "plant-bridge-fuzz");
      return [...crashes].map(([signature, c]) => {
        const text = JSON.stringify({ target, note: signature, input: c.saved }, null, 1);
        const file = join(
          dir,
          `${target}-${createHash("sha256").update(text).digest("hex").slice(0, 10)}.json`,
        );
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, text);
        return `${signature} (${c.count}x; smallest input ${c.size} chars kept in ${file})\n${c.stack}`;
      });
    },
  };
}

export interface FuzzRun {
  runs: number;
  valid: number;
  ms: number;
}

/**
 * Feeds `runs` generated inputs to a target (a valid event after every `VALID_EVERY`), then
 * asserts: nothing threw or answered outside the contract, every valid event is kept once, no
 * promise rejection went unhandled, and the heap after a GC is within `HEAP_BOUND_BYTES` of the
 * heap before the run.
 */
export async function runFuzz<I>(
  target: FuzzTarget<I>,
  inputs: fc.Arbitrary<I>,
  runs = FUZZ_RUNS,
): Promise<FuzzRun> {
  const crashes = createCrashLog(target.name);
  const unhandled = watchUnhandled();
  const started = Date.now();
  let n = 0;
  let valid = 0;
  const run: FuzzRun = { runs: 0, valid: 0, ms: 0 };
  try {
    await target.feedValid(valid++, "scrap"); // warm-up: schemas compiled, statements prepared
    const heapBefore = settledHeap();
    await fc.assert(
      fc.asyncProperty(inputs, eventType, async (input, type) => {
        try {
          await target.feed(input);
        } catch (err) {
          crashes.record(target.save(input), err);
        }
        if (++n % VALID_EVERY === 0) {
          try {
            await target.feedValid(valid++, type);
          } catch (err) {
            crashes.record({ valid: valid - 1, type }, err);
          }
        }
      }),
      fuzzParams(runs),
    );
    run.ms = Date.now() - started;
    run.runs = n;
    run.valid = valid;
    if (process.env.FUZZ_REPORT)
      console.log(`${target.name}: ${run.runs} inputs + ${run.valid} valid in ${run.ms} ms`);
    const problems = await target.check();
    expect({ crashes: crashes.summary(), problems, unhandled: unhandled.seen.map(String) }).toEqual(
      {
        crashes: [],
        problems: [],
        unhandled: [],
      },
    );
    expectHeapBounded(target.name, heapBefore);
  } finally {
    unhandled.stop();
  }
  return run;
}

/** Time a suite of `FUZZ_RUNS` inputs may take (generous: a 2-core machine shared with others). */
export function fuzzTimeout(msPerInput = 100): number {
  return 60_000 + FUZZ_RUNS * msPerInput;
}
