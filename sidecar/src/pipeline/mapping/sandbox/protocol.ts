/**
 * What the main thread and the JSONata workers exchange. Plain data only (structured clone).
 * One evaluation's job and outcome are the mapping core's (mapping-core/contract.ts).
 */
import type { EvaluationJob, EvaluationOutcome } from "../../../mapping-core/contract.js";

/** Main thread -> worker: a batch of jobs, answered by one `BatchResult`. */
export interface BatchRequest {
  batch: number;
  jobs: Array<{ id: number; job: EvaluationJob }>;
}

export interface BatchResult {
  batch: number;
  outcomes: Array<{ id: number; outcome: EvaluationOutcome }>;
}

/**
 * Progress a worker shares with the main thread through a SharedArrayBuffer, read by the
 * watchdog: `[PROGRESS_JOB]` the job being evaluated (0: idle), `[PROGRESS_SINCE]` when it began.
 */
export const PROGRESS_JOB = 0;
export const PROGRESS_SINCE = 1;
export const PROGRESS_SLOTS = 2;
