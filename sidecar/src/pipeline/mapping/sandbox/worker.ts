/**
 * A JSONata worker thread: evaluates batches of jobs one after another and answers each batch
 * with one message. Before each job it writes the job id and its start time into the shared
 * progress array, so the pool's watchdog can tell which job a stuck or dead worker was running.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createEvaluator } from "../../../mapping-core/evaluate.js";
import { PROGRESS_JOB, PROGRESS_SINCE, type BatchRequest, type BatchResult } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("sandbox/worker.ts runs as a worker thread only");
const progress = new Float64Array((workerData as { progress: SharedArrayBuffer }).progress);
const evaluator = createEvaluator();

// Batches are evaluated strictly one after another: the progress slots describe one job.
let queue: Promise<void> = Promise.resolve();
port.on("message", (request: BatchRequest) => {
  queue = queue.then(async () => {
    const result: BatchResult = { batch: request.batch, outcomes: [] };
    for (const { id, job } of request.jobs) {
      progress[PROGRESS_SINCE] = Date.now();
      progress[PROGRESS_JOB] = id;
      result.outcomes.push({ id, outcome: await evaluator.evaluate(job) });
    }
    progress[PROGRESS_JOB] = 0;
    port.postMessage(result);
  });
});
