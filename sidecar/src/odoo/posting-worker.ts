import type { OdooClient } from "../contracts/odoo-api.js";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
} from "cockatiel";
import { PlantBridgeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Bus } from "../pipeline/bus.js";
import type { PostingWindowConfig } from "../contracts/site-config.js";
import { windowWait } from "../pipeline/posting-windows.js";
import type { Outcome, OutboxRow, Store } from "../store/types.js";

export interface SiteWindows {
  /** IANA time zone of the site: daily window times are read in it. */
  timezone: string;
  windows: readonly PostingWindowConfig[];
}

/** One answer of `plant_bridge.api.post_events` (docs/odoo-api.md). */
export interface PostResult {
  id: string;
  site: string;
  status: "applied" | "duplicate" | "rejected" | "deferred";
  ref?: { model: string; id: number; name?: string } | null;
  original_status?: string;
  code?: string;
  message?: string;
  retry_after?: number;
}

export interface PostingWorkerOptions {
  store: Store;
  client: OdooClient;
  metrics: Metrics;
  logger: Logger;
  bus: Bus;
  /** This sidecar's name, sent with each batch for the trace. */
  sidecar: string;
  /** The environment this sidecar declares (Odoo refuses a batch from another one). */
  environment?: string;
  /**
   * Most events per call. Each call also pays a fixed cost in Odoo (API key check, ~40 of the
   * ~50-60 queries of a downtime batch do not grow with its size): 3,000 downtime events over
   * JSON-2 post ~15% faster in calls of 1,000 than of 500. @default 1000
   */
  batchSize?: number;
  /**
   * How long a partial batch waits for more events, counted from the first event waiting (not
   * from the end of the previous call), and cut short once a full batch is waiting. @default 200
   */
  lingerMs?: number;
  /**
   * Calls to Odoo at once: a leased batch is split by business object (MO, work center, ...)
   * into up to this many calls sent side by side, each object's events in one call and in
   * order, so Odoo can work on one while the sidecar waits for another. 1: one call at a time.
   * In the pipeline benchmark (10,000 downtime events on 3 work centers) 3 calls reached
   * 0.77-0.84 of the in-process ORM ceiling, 2 calls 0.68-0.73, 1 call 0.64-0.67.
   * @default 3
   */
  concurrency?: number;
  /** How long a leased batch is ours before another worker may take it over. @default 120000 */
  leaseMs?: number;
  /** Only events of these sites. @default all */
  sites?: string[];
  /**
   * Critical events first (README "Priority lanes"); false leases in arrival order only, the
   * baseline of the lanes benchmark. @default true
   */
  lanes?: boolean;
  /**
   * The posting windows of a site and its time zone, from the site's configuration (README
   * "Posting windows"): an event a window holds is settled back as waiting (`held`) until the
   * window lets it go. @default every event posts in real time
   */
  windowsOf?: (site: string) => SiteWindows | undefined;
  /** Posting pause after a configuration failure (401/403, missing addon). @default 60000 */
  configPauseMs?: number;
  /** Attempts before an event Odoo failed on unexpectedly becomes a dead letter. @default 3 */
  maxUnexpectedAttempts?: number;
  /** Consecutive failed calls that open the circuit. @default 5 */
  breakerThreshold?: number;
  /** How long the open circuit waits before one probe call. @default 10000 */
  halfOpenAfterMs?: number;
  /** Retry delays after transient failures. @default exponential from 500 ms to 60 s, jittered */
  backoff?: IBackoffFactory<unknown>;
  /**
   * While Odoo is unreachable, how often its health check (`/web/health`) is asked. The first
   * answer ends the wait at once: the retries waiting for Odoo become due and the circuit closes,
   * instead of each waiting out its backoff (up to 60 s) after Odoo is back. @default 2000
   */
  probeMs?: number;
  /**
   * How often the leases of sidecar processes that died on this host (SIGKILL, OOM) are looked
   * for and taken over, instead of holding their business objects until the lease ends.
   * @default 15000
   */
  reclaimMs?: number;
  /**
   * Liveness across hosts (a PostgreSQL store): this worker holds a lock named after its lease
   * owner for as long as it lives, and leases whose owner holds none are taken over at the next
   * reclaim (every `reclaimMs`, 2000 by default then), not when they run out.
   * @default the same host's dead processes only
   */
  liveness?: {
    holdLiveness(owner: string): Promise<void>;
    deadHolders(owners: string[]): Promise<string[]>;
  };
  /** @default Date.now */
  now?: () => number;
}

export interface PostingStatus {
  running: boolean;
  /** Why posting is paused (configuration failure), if it is. */
  paused: string | null;
  circuit: "closed" | "open" | "half-open" | "isolated";
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Latencies (receipt → applied, ms) since the last `drainLatencies()` call. */
  drainLatencies(): number[];
}

export interface PostingWorker {
  status(): PostingStatus;
  /** Runs until stop(); resolves when the loop has ended. */
  start(): void;
  /** Posts whatever is due now, once (tests, benchmarks). Returns the number of rows leased. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Drains the outbox into Odoo through the posting endpoint, in batches: per-event answers settle
 * the store (applied / duplicate, rejected → dead letter, deferred → retried later in order);
 * transient failures back off with jitter behind a circuit breaker while the plant keeps
 * buffering; configuration failures pause posting and alert.
 */
export function createPostingWorker(options: PostingWorkerOptions): PostingWorker {
  const { store, client, metrics, logger, bus } = options;
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 1000;
  const lingerMs = options.lingerMs ?? 200;
  const leaseMs = options.leaseMs ?? 120_000;
  const concurrency = Math.max(1, options.concurrency ?? 3);
  const configPauseMs = options.configPauseMs ?? 60_000;
  const maxUnexpected = options.maxUnexpectedAttempts ?? 3;
  // The owner names its host and process, so a worker on the same host can tell a dead one.
  const owner = `${options.sidecar}@${hostname()}#${process.pid}#${randomBytes(3).toString("hex")}`;
  const probeMs = options.probeMs ?? 2000;
  const liveness = options.liveness;
  const reclaimMs = options.reclaimMs ?? (liveness ? 2000 : 15_000);
  let live: Promise<void> | undefined;
  /** Leases only once our liveness lock is held: others must not take our leases for dead. */
  function ensureLive(): Promise<void> {
    if (!liveness) return Promise.resolve();
    live ??= liveness.holdLiveness(owner).catch((err: unknown) => {
      live = undefined;
      throw err;
    });
    return live;
  }
  const backoffFactory =
    options.backoff ?? new ExponentialBackoff({ initialDelay: 500, maxDelay: 60_000 });
  const breaker = circuitBreaker(
    handleWhen((err) => err instanceof PlantBridgeError && err.kind === "transient"),
    {
      halfOpenAfter: options.halfOpenAfterMs ?? 10_000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    },
  );
  let circuit: PostingStatus["circuit"] = "closed";
  let closingCircuit = false;
  breaker.onStateChange((state) => {
    circuit = (["closed", "open", "half-open", "isolated"] as const)[state] ?? "closed";
    if (!closingCircuit) logger.warn({ circuit }, "Odoo circuit breaker changed state");
  });
  /** cockatiel has no reset: ending an isolation is its way to a closed circuit. */
  function closeCircuit(): void {
    closingCircuit = true;
    breaker.isolate().dispose();
    closingCircuit = false;
    logger.info({ circuit }, "Odoo circuit breaker closed: Odoo answers again");
  }

  // Odoo unreachable: the health probe runs until Odoo answers or a call succeeds.
  let outage = false;
  let probeTimer: NodeJS.Timeout | undefined;
  function startProbe(): void {
    if (probeTimer || !running) return;
    probeTimer = setTimeout(() => void probe(), probeMs);
  }
  function stopProbe(): void {
    clearTimeout(probeTimer);
    probeTimer = undefined;
  }
  async function probe(): Promise<void> {
    probeTimer = undefined;
    if (!running || !outage) return;
    if (!(await client.healthy())) return startProbe();
    if (!outage) return;
    outage = false;
    backoff = undefined;
    if (circuit !== "closed") closeCircuit();
    try {
      const due = await store.expedite({
        now: now(),
        codes: OUTAGE_CODES,
        ...(options.sites && { sites: options.sites }),
      });
      logger.info({ events: due }, "Odoo answers its health check again: posting resumes");
    } catch (err) {
      logger.warn({ err }, "could not make the waiting events due; they wait out their backoff");
    }
    wake?.();
  }

  // Leases of dead processes on this host: taken over at once (at start, then every
  // reclaimMs), not when the lease ends. On its own timer, so leasing itself pays nothing.
  let reclaimTimer: NodeJS.Timeout | undefined;
  async function reclaimDeadLeases(): Promise<void> {
    try {
      const others = (await store.leaseHolders(now())).filter((h) => h !== owner);
      const dead = others.filter(deadHere);
      if (liveness) {
        const rest = others.filter((h) => !dead.includes(h));
        dead.push(...(await liveness.deadHolders(rest)));
      }
      if (dead.length === 0) return;
      const n = await store.expedite({ now: now(), owners: dead });
      metrics.leasesReclaimed.inc(n);
      logger.warn({ owners: dead, events: n }, "took over the leases of stopped sidecar processes");
      if (n > 0) wake?.();
    } catch (err) {
      logger.warn({ err }, "could not look for the leases of stopped sidecar processes");
    }
  }

  let backoff: IBackoff<unknown> | undefined;
  // One step of backoff per lease round: the calls of one round fail together when Odoo is down,
  // and must not push the next attempt three times as far out.
  let round = 0;
  let backoffRound = -1;
  let paused: string | null = null;
  let lastSuccessAt: number | null = null;
  let lastError: string | null = null;
  let latencies: number[] = [];
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;
  // Events accepted by this sidecar since the last lease began, and when the first of them
  // arrived: the linger counts from there, so events that arrived while a call was in flight
  // (a backlog) go out right after it instead of waiting another lingerMs on top.
  let waiting = 0;
  let firstWaitingAt = 0;
  let lingering = false;
  const onAccepted = () => {
    if (waiting++ === 0) firstWaitingAt = performance.now();
    // idle: the first event wakes the loop; lingering: only a full batch ends the linger
    if (!lingering || waiting >= batchSize) wake?.();
  };

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      wake = () => {
        clearTimeout(sleepTimer);
        wake = undefined;
        resolve();
      };
      sleepTimer = setTimeout(() => wake?.(), ms);
    });
  }

  async function post(rows: OutboxRow[]): Promise<PostResult[]> {
    const events = rows.map((r) => ({
      ...r.event,
      receivedAt: new Date(r.receivedAt).toISOString(),
      source: r.source,
      origin: r.origin,
    }));
    const results = await breaker.execute(() =>
      client.call<PostResult[]>("plant_bridge.api", "post_events", {
        events,
        sidecar: options.sidecar,
        ...(options.environment && { environment: options.environment }),
      }),
    );
    if (!Array.isArray(results) || results.length !== rows.length) {
      throw new PlantBridgeError(
        "unexpected",
        `post_events answered ${Array.isArray(results) ? results.length : typeof results} results for ${rows.length} events`,
        { kind: "transient" },
      );
    }
    return results;
  }

  function outcomeOf(row: OutboxRow, r: PostResult, at: number): Outcome {
    switch (r.status) {
      case "applied":
      case "duplicate": {
        const ref = r.ref ? `${r.ref.model},${r.ref.id}` : undefined;
        return { seq: row.seq, status: r.status, at, ...(ref && { ref }) };
      }
      case "deferred":
        return {
          seq: row.seq,
          status: "retry",
          retryAt: at + Math.max(1, Math.min(r.retry_after ?? 30, 3600)) * 1000,
          code: r.code ?? "deferred",
          message: r.message ?? "deferred by Odoo",
        };
      case "rejected":
        if (r.code === "unexpected" && row.attempts < maxUnexpected) {
          return {
            seq: row.seq,
            status: "retry",
            retryAt: at + 5000 * row.attempts,
            code: "unexpected",
            message: r.message ?? "",
          };
        }
        return {
          seq: row.seq,
          status: "rejected",
          code: r.code ?? "unexpected",
          message: r.message ?? "rejected by Odoo",
          at,
        };
      default:
        return {
          seq: row.seq,
          status: "retry",
          retryAt: at + 30_000,
          code: "unexpected",
          message: `unknown status ${String((r as { status?: unknown }).status)}`,
        };
    }
  }

  function observe(rows: OutboxRow[], results: PostResult[], at: number): void {
    results.forEach((r, i) => {
      const row = rows[i]!;
      const base = {
        site: row.site,
        eventId: row.eventId,
        type: row.type,
        source: row.source,
        at,
        code: r.code ?? null,
        message: r.message ?? null,
      };
      if (r.status === "applied") {
        metrics.applied.inc({ site: row.site, type: row.type });
        metrics.postLatency.observe((at - row.receivedAt) / 1000);
        latencies.push(at - row.receivedAt);
        bus.emit("eventProcessed", { ...base, status: "applied" });
      } else if (r.status === "duplicate") {
        bus.emit("eventProcessed", { ...base, status: "odoo_duplicate" });
      } else if (r.status === "rejected") {
        metrics.rejected.inc({ site: row.site, code: r.code ?? "unexpected" });
        bus.emit("eventProcessed", { ...base, status: "odoo_rejected" });
      }
    });
  }

  /** Posts rows; a call Odoo refuses as a whole (422) is split to isolate the bad event. */
  async function postAndSettle(rows: OutboxRow[]): Promise<void> {
    try {
      const results = await post(rows);
      const at = now();
      await store.settle(
        owner,
        rows.map((row, i) => outcomeOf(row, results[i]!, at)),
      );
      observe(rows, results, at);
      backoff = undefined;
      outage = false;
      stopProbe();
      paused = null;
      lastSuccessAt = at;
      metrics.odooUp.set(1);
      metrics.postBatches.inc({ result: "ok" });
    } catch (err) {
      await handleFailure(rows, err);
    }
  }

  async function handleFailure(rows: OutboxRow[], err: unknown): Promise<void> {
    const at = now();
    const e = err instanceof PlantBridgeError ? err : undefined;
    lastError = err instanceof Error ? err.message : String(err);
    if (e?.kind === "permanent" && e.code !== "odoo_not_found") {
      if (rows.length > 1) {
        const mid = Math.ceil(rows.length / 2);
        await postAndSettle(rows.slice(0, mid));
        await postAndSettle(rows.slice(mid));
        return;
      }
      metrics.postBatches.inc({ result: "permanent" });
      await store.settle(owner, [
        { seq: rows[0]!.seq, status: "rejected", code: e.code, message: e.message, at },
      ]);
      return;
    }
    if (e?.kind === "config" || e?.code === "odoo_not_found") {
      // Rights, credentials or a missing addon: retrying sooner will not help; alert and buffer.
      paused = `${e.code}: ${e.message}`;
      metrics.postBatches.inc({ result: "config" });
      metrics.odooUp.set(e.code === "odoo_not_found" ? 1 : 0);
      logger.error(
        { code: e.code, detail: e.detail },
        "posting to Odoo paused: configuration problem; events keep buffering",
      );
      await store.settle(
        owner,
        rows.map((r) => ({
          seq: r.seq,
          status: "retry" as const,
          retryAt: at + configPauseMs,
          code: e.code,
          message: e.message,
        })),
      );
      return;
    }
    // Transient (Odoo down, 5xx, 409, network) or an open circuit: back off with jitter. When
    // Odoo cannot be reached at all, its health check tells when it is back.
    if (!(err instanceof BrokenCircuitError)) outage = isOutage(e);
    if (outage) startProbe();
    if (backoffRound !== round || !backoff) {
      backoff = backoff ? backoff.next(undefined) : backoffFactory.next(undefined);
      backoffRound = round;
    }
    const delay =
      err instanceof BrokenCircuitError
        ? Math.max(backoff.duration, options.halfOpenAfterMs ?? 10_000)
        : backoff.duration;
    metrics.postBatches.inc({
      result: err instanceof BrokenCircuitError ? "circuit_open" : "transient",
    });
    metrics.odooUp.set(0);
    logger.warn(
      {
        code: e?.code ?? "unexpected",
        retryInMs: Math.round(delay),
        events: rows.length,
        err: lastError,
      },
      "posting to Odoo failed; will retry",
    );
    const code = err instanceof BrokenCircuitError ? "circuit_open" : (e?.code ?? "unexpected");
    await store.settle(
      owner,
      rows.map((r) => ({
        seq: r.seq,
        status: "retry" as const,
        retryAt: at + delay,
        code,
        message: lastError ?? "",
      })),
    );
  }

  // The wall clock against the monotonic one: a step back (NTP correcting a wrong clock)
  // would make every wait in the store last that much longer; the waits are moved with it.
  // A step forward only ends waits early, which is harmless.
  let lastWall = now();
  let lastMono = performance.now();
  /** The step back of the wall clock since the last call, ms (negative), if there was one. */
  function clockStepBack(): number | undefined {
    const wall = now();
    const mono = performance.now();
    const step = wall - lastWall - (mono - lastMono);
    lastWall = wall;
    lastMono = mono;
    return step <= -CLOCK_STEP_MS ? step : undefined;
  }

  async function followClockStep(step: number): Promise<void> {
    try {
      const moved = await store.shiftWaits(step, now());
      logger.warn(
        { stepMs: Math.round(step), events: moved },
        "the wall clock was set back: waiting events keep their remaining wait",
      );
    } catch (err) {
      logger.warn({ err }, "could not move the waits after a clock step");
    }
  }

  /**
   * Settles the rows a posting window holds back as waiting until it lets them go (code `held`,
   * not an attempt that failed), with the later rows of their objects, which must not overtake
   * them; returns the rows to post now.
   */
  async function holdForWindows(rows: OutboxRow[]): Promise<OutboxRow[]> {
    const at = now();
    const post: OutboxRow[] = [];
    const held: Outcome[] = [];
    const heldKeys = new Map<string, { until: number; message: string }>();
    for (const row of rows) {
      let wait = heldKeys.get(row.orderKey);
      if (!wait) {
        const site = options.windowsOf!(row.site);
        const w = site && windowWait(row.type, row.receivedAt, site.windows, site.timezone, at);
        if (w) {
          const until = new Date(w.until).toISOString();
          wait = {
            until: w.until,
            message: `waiting for posting window "${w.window.name}" until ${until}`,
          };
          heldKeys.set(row.orderKey, wait);
        }
      }
      if (wait) {
        held.push({
          seq: row.seq,
          status: "retry",
          retryAt: wait.until,
          code: HELD,
          message: wait.message,
        });
      } else {
        post.push(row);
      }
    }
    if (held.length > 0) await store.settle(owner, held);
    return post;
  }

  async function runOnce(): Promise<number> {
    if (liveness) await ensureLive();
    const step = clockStepBack();
    if (step !== undefined) await followClockStep(step);
    waiting = 0;
    round++;
    const leased = await store.lease({
      owner,
      limit: batchSize,
      leaseMs,
      now: now(),
      ...(options.sites && { sites: options.sites }),
      ...(options.lanes === false && { lanes: false }),
    });
    const rows = options.windowsOf ? await holdForWindows(leased) : leased;
    if (rows.length > 0) await Promise.all(splitByLane(rows, concurrency).map(postAndSettle));
    return rows.length;
  }

  async function run(): Promise<void> {
    while (running) {
      let leased: number;
      try {
        leased = await runOnce();
      } catch (err) {
        logger.error({ err }, "posting worker iteration failed");
        await sleep(1000);
        continue;
      }
      if (!running) break;
      if (leased >= batchSize) continue; // a backlog: keep draining
      // Nothing (or a partial batch) left: wait for new events, then linger to fill a batch.
      // Without local events after a second (rows due for retry, or accepted by another
      // sidecar on a shared store), lease at once: those have waited long enough.
      if (leased === 0 && waiting === 0) await sleep(1000); // woken early by the next accepted event
      const left = firstWaitingAt + lingerMs - performance.now();
      if (running && waiting > 0 && waiting < batchSize && left > 0) {
        lingering = true;
        await sleep(left); // woken early once a full batch is waiting
        lingering = false;
      }
    }
  }

  return {
    status: () => ({
      running,
      paused,
      circuit,
      lastSuccessAt,
      lastError,
      drainLatencies: () => {
        const out = latencies;
        latencies = [];
        return out;
      },
    }),
    start() {
      if (running) return;
      running = true;
      bus.on("accepted", onAccepted);
      loop = run();
      void reclaimDeadLeases();
      reclaimTimer = setInterval(() => void reclaimDeadLeases(), reclaimMs);
      reclaimTimer.unref();
    },
    runOnce,
    async stop() {
      running = false;
      stopProbe();
      clearInterval(reclaimTimer);
      bus.off("accepted", onAccepted);
      wake?.();
      await loop;
    },
  };
}

/**
 * Splits a leased batch into at most `parts` calls (see `splitByObject`), the business objects
 * with a critical event apart from the others: a production event that comes in behind a bulk
 * backlog goes out in a small call of its own instead of in a third of the backlog, so its wait
 * is the call in flight and its own short one. Critical calls come first and take up to
 * `parts - 1`, the bulk objects the rest.
 */
export function splitByLane(rows: OutboxRow[], parts: number): OutboxRow[][] {
  if (parts <= 1 || rows.length < 2) return [rows];
  const critical = new Set(rows.filter((r) => r.lane === "critical").map((r) => r.orderKey));
  const first = rows.filter((r) => critical.has(r.orderKey));
  const rest = rows.filter((r) => !critical.has(r.orderKey));
  if (first.length === 0 || rest.length === 0) return splitByObject(rows, parts);
  const calls = splitByObject(first, parts - 1);
  return [...calls, ...splitByObject(rest, parts - calls.length)];
}

/**
 * Splits a leased batch into at most `parts` calls without splitting a business object: each
 * object's events stay together and in order (the lease already hands out an object's events
 * to one worker only), objects are spread so the calls are about the same size, and each call
 * keeps the batch's order.
 */
export function splitByObject(rows: OutboxRow[], parts: number): OutboxRow[][] {
  if (parts <= 1 || rows.length < 2) return [rows];
  const objects = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const group = objects.get(row.orderKey);
    if (group) group.push(row);
    else objects.set(row.orderKey, [row]);
  }
  if (objects.size === 1) return [rows];
  const calls = Array.from({ length: Math.min(parts, objects.size) }, () => ({
    size: 0,
    objects: [] as OutboxRow[][],
  }));
  for (const group of [...objects.values()].sort((a, b) => b.length - a.length)) {
    const smallest = calls.reduce((min, c) => (c.size < min.size ? c : min));
    smallest.objects.push(group);
    smallest.size += group.length;
  }
  return calls.map((c) => c.objects.flat().sort((a, b) => a.seq - b.seq));
}

/** Code of the events a posting window keeps waiting (README "Posting windows"). */
export const HELD = "held";

/** A wall clock step back larger than this moves the waits in the store. */
const CLOCK_STEP_MS = 5000;

/** Codes of retries that wait only for Odoo to be reachable again. */
const OUTAGE_CODES = ["odoo_unreachable", "odoo_unavailable", "circuit_open"];

/** Odoo cannot be reached at all (refused, reset, timed out) or a gateway says so (502, 504). */
function isOutage(e: PlantBridgeError | undefined): boolean {
  if (e?.code === "odoo_unreachable") return true;
  const status = (e?.detail as { status?: unknown } | undefined)?.status;
  return status === 502 || status === 504;
}

/** A lease owner (`name@host#pid#nonce`) of this host whose process no longer exists. */
export function deadHere(owner: string): boolean {
  const m = /@([^#]*)#(\d+)#[0-9a-f]+$/.exec(owner);
  if (!m || m[1] !== hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
