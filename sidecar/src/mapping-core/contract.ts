/**
 * The mapping evaluation contract: what one evaluation of a mapping's expression is given
 * (expression, key expression, input, variables, limits) and what it answers. The sidecar's
 * sandbox workers and the Mapping Studio's preview in the browser evaluate the same way
 * (mapping-core/evaluate.ts). Plain data only (structured clone between threads).
 */

/** Limits of one evaluation (evaluate.ts). */
export interface EvaluationLimits {
  /** JSONata's own guardrail: the evaluation stops with D1012 after this. @default 250 */
  timeoutMs: number;
  /** Deepest nesting of evaluation (recursion), D1011 beyond. @default 500 */
  maxDepth: number;
  /** Longest sequence (array) an expression may build, D2015 beyond. @default 100000 */
  maxSequence: number;
  /** Largest output as JSON text. @default 1048576 (1 MiB) */
  maxOutputBytes: number;
  /** Most events one message may produce. @default 1000 */
  maxEvents: number;
}

export const DEFAULT_EVALUATION_LIMITS: EvaluationLimits = {
  timeoutMs: 250,
  maxDepth: 500,
  maxSequence: 100_000,
  maxOutputBytes: 1024 * 1024,
  maxEvents: 1000,
};

export type EvaluationInput =
  /** Payload text: JSON when it parses, else the text itself (a device publishing `RUN`). */
  | { kind: "text"; text: string }
  /** An already decoded value (a Sparkplug payload). */
  | { kind: "value"; value: unknown };

export interface EvaluationJob {
  expression: string;
  /** Evaluated once per produced item, with `$event` and `$index` bound: its idempotency key. */
  keyExpression?: string;
  input: EvaluationInput;
  /** Variables (`$topic`, `$params`, named segments...). */
  bindings: Record<string, unknown>;
  limits: EvaluationLimits;
}

export type EvaluationStage = "compile" | "input" | "expression" | "key" | "output";

export type EvaluationOutcome =
  | {
      ok: true;
      /** JSON text of the produced items (an array, possibly empty). */
      output: string;
      /** One key per item when a key expression is set (null when it gave nothing). */
      keys?: Array<string | null>;
    }
  | {
      ok: false;
      /** `mapping_error` (expression, limits, killed), `schema` (forbidden key in input). */
      code: "mapping_error" | "schema";
      stage: EvaluationStage;
      message: string;
      /** The JSONata error code (`T2001`, `D1012`...) when there is one. */
      jsonataCode?: string;
      /** Character position in the expression, when known. */
      position?: number;
      /** The worker was terminated: the evaluation never returned (hard time limit, heap). */
      killed?: true;
    };
