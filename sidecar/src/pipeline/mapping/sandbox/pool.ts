/**
 * JSONata evaluations run in a small pool of worker threads, not on the sidecar's event loop.
 *
 * Why workers and not in-process timeboxing alone: JSONata's guardrails (timeout, stack depth)
 * are checked between evaluation steps, so they stop loops and runaway recursion such as
 * `( $f := function($x){$f($x)}; $f(1) )`, but not one native step that never returns (a
 * catastrophic regular expression in `$match`) or a huge allocation. On the event loop that
 * would stall every MQTT acknowledgement, the posting worker and the API. In a worker it stalls
 * one thread, which the watchdog terminates after `hardTimeoutMs` (and a heap limit turns a
 * runaway allocation into the worker's death, not the sidecar's). The job that was running is
 * answered `mapping_error`; the other jobs of that worker are evaluated again on its
 * replacement. Jobs travel in batches (one message per batch each way), so the cost of crossing
 * threads is shared by all messages that arrive together.
 */
import type { EvaluationJob, EvaluationOutcome } from "../../../mapping-core/contract.js";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { Logger } from "../../../logger.js";
import {
  PROGRESS_JOB,
  PROGRESS_SINCE,
  PROGRESS_SLOTS,
  type BatchRequest,
  type BatchResult,
} from "./protocol.js";

export interface SandboxPoolOptions {
  logger: Logger;
  /** Worker threads. @default 1 */
  workers?: number;
  /** A job still running after this is stopped by terminating its worker. @default 1000 */
  hardTimeoutMs?: number;
  /** Heap of each worker in MiB. @default 128 */
  maxHeapMb?: number;
  /** Most jobs in one message to a worker. @default 64 */
  maxBatch?: number;
  /** Called when a worker is terminated (for metrics). */
  onKill?: (reason: "timeout" | "died") => void;
}

export interface SandboxPool {
  /**
   * Evaluates a job. `skip`, checked when the job is about to be sent to a worker (also again
   * after a worker was stopped), may answer instead (e.g. the mapping was suspended meanwhile).
   */
  evaluate(
    job: EvaluationJob,
    skip?: () => EvaluationOutcome | undefined,
  ): Promise<EvaluationOutcome>;
  /** Jobs waiting or running. */
  pending(): number;
  close(): Promise<void>;
}

interface Job {
  id: number;
  job: EvaluationJob;
  skip: (() => EvaluationOutcome | undefined) | undefined;
  resolve: (outcome: EvaluationOutcome) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  progress: Float64Array;
  /** Batches sent and not answered, by batch number. */
  inflight: Map<number, Job[]>;
  dead: boolean;
}

export function startSandboxPool(options: SandboxPoolOptions): SandboxPool {
  const { logger } = options;
  const size = Math.max(1, options.workers ?? 1);
  const hardTimeoutMs = options.hardTimeoutMs ?? 1000;
  const maxBatch = options.maxBatch ?? 64;
  const resourceLimits: ResourceLimits = {
    maxOldGenerationSizeMb: options.maxHeapMb ?? 128,
    maxYoungGenerationSizeMb: 16,
    stackSizeMb: 4,
  };
  const queue: Job[] = [];
  let nextJob = 1;
  let nextBatch = 1;
  let closed = false;
  let dispatchScheduled = false;
  const slots: Slot[] = [];

  function spawn(): Slot {
    const buffer = new SharedArrayBuffer(PROGRESS_SLOTS * Float64Array.BYTES_PER_ELEMENT);
    const slot: Slot = {
      worker: startWorker({ workerData: { progress: buffer }, resourceLimits }),
      progress: new Float64Array(buffer),
      inflight: new Map(),
      dead: false,
    };
    slot.worker.on("message", (result: BatchResult) => {
      const jobs = slot.inflight.get(result.batch);
      slot.inflight.delete(result.batch);
      const byId = new Map(jobs?.map((j) => [j.id, j]));
      for (const { id, outcome } of result.outcomes) byId.get(id)?.resolve(outcome);
      schedule();
    });
    slot.worker.on("error", (err) => kill(slot, "died", `the worker died: ${err.message}`));
    slot.worker.on("exit", (code) => {
      if (!slot.dead && !closed) kill(slot, "died", `the worker exited with code ${code}`);
    });
    return slot;
  }

  /** Terminates a worker: its running job fails, its other jobs go back to the queue. */
  function kill(slot: Slot, reason: "timeout" | "died", message: string): void {
    if (slot.dead) return;
    slot.dead = true;
    const blamed = slot.progress[PROGRESS_JOB];
    void slot.worker.terminate().catch(() => undefined);
    const retry: Job[] = [];
    for (const jobs of slot.inflight.values()) {
      for (const job of jobs) {
        if (job.id === blamed) {
          job.resolve({
            ok: false,
            code: "mapping_error",
            stage: "expression",
            message,
            killed: true,
          });
        } else retry.push(job);
      }
    }
    slot.inflight.clear();
    queue.unshift(...retry);
    options.onKill?.(reason);
    logger.warn(
      { reason, retried: retry.length, blamed: blamed || null },
      `JSONata sandbox worker terminated: ${message}`,
    );
    const i = slots.indexOf(slot);
    if (i >= 0 && !closed) slots[i] = spawn();
    schedule();
  }

  function schedule(): void {
    if (dispatchScheduled || closed || queue.length === 0) return;
    dispatchScheduled = true;
    // setImmediate, not a microtask: messages that arrive in one socket read go together.
    setImmediate(dispatch);
  }

  function dispatch(): void {
    dispatchScheduled = false;
    while (queue.length > 0) {
      // The least busy worker, allowing two batches in flight so none waits for the round trip.
      const slot = slots
        .filter((s) => !s.dead && s.inflight.size < 2)
        .sort((a, b) => load(a) - load(b))[0];
      if (!slot) return;
      const jobs: Job[] = [];
      while (jobs.length < maxBatch && queue.length > 0) {
        const job = queue.shift()!;
        const answer = job.skip?.();
        if (answer) job.resolve(answer);
        else jobs.push(job);
      }
      if (jobs.length === 0) continue;
      const batch = nextBatch++;
      slot.inflight.set(batch, jobs);
      const request: BatchRequest = { batch, jobs: jobs.map(({ id, job }) => ({ id, job })) };
      slot.worker.postMessage(request);
    }
  }

  const watchdog = setInterval(
    () => {
      const now = Date.now();
      for (const slot of [...slots]) {
        if (slot.dead || slot.progress[PROGRESS_JOB] === 0) continue;
        if (now - slot.progress[PROGRESS_SINCE]! > hardTimeoutMs) {
          kill(slot, "timeout", `the evaluation did not finish within ${hardTimeoutMs} ms`);
        }
      }
    },
    Math.max(25, Math.floor(hardTimeoutMs / 4)),
  );
  watchdog.unref();

  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    evaluate(job, skip) {
      if (closed) return Promise.reject(new Error("the JSONata sandbox is closed"));
      return new Promise<EvaluationOutcome>((resolve, reject) => {
        queue.push({ id: nextJob++, job, skip, resolve, reject });
        schedule();
      });
    },
    pending: () => queue.length + slots.reduce((n, s) => n + load(s), 0),
    async close() {
      closed = true;
      clearInterval(watchdog);
      const error = new Error("the JSONata sandbox is closed");
      for (const job of queue.splice(0)) job.reject(error);
      for (const slot of slots) {
        slot.dead = true;
        for (const jobs of slot.inflight.values()) for (const job of jobs) job.reject(error);
        slot.inflight.clear();
      }
      await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
    },
  };
}

function load(slot: Slot): number {
  let n = 0;
  for (const jobs of slot.inflight.values()) n += jobs.length;
  return n;
}

/**
 * The compiled worker (dist) when it exists; from the TypeScript sources (tests, `tsx`) through
 * tsx's loader, which a worker does not inherit from the main thread.
 */
function startWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  const compiled = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, options);
  const source = new URL("./worker.ts", import.meta.url).href;
  return new Worker(
    `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`,
    { ...options, eval: true },
  );
}
