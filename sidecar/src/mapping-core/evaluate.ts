/**
 * One JSONata evaluation with its limits, as the sidecar's sandbox workers run it
 * (pipeline/mapping/sandbox/worker.ts) and as the Mapping Studio's preview runs it in the browser
 * (owl_src/mapping_engine): no Node.js module here.
 *
 * JSONata has no access to the process: it navigates only own properties of its input and
 * builds null-prototype objects, and the only functions it can call are its built-ins and what
 * is bound. What it can still do is run long (loops, recursion), build huge outputs, or name a
 * key `__proto__` that a later `obj[key] = ...` elsewhere would turn into prototype pollution.
 * So: JSONata's own guardrails (timeout, stack depth, sequence length) stop loops and runaway
 * recursion between steps; the output is checked here (shape, forbidden keys, size, count); a
 * single native step that never returns (a catastrophic regular expression) is what the pool's
 * watchdog is for: it terminates the worker.
 */
import type {
  EvaluationJob,
  EvaluationLimits,
  EvaluationOutcome,
  EvaluationStage,
} from "./contract.js";
import jsonata from "jsonata";
import secureJson from "secure-json-parse";

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const CACHE_SIZE = 256;
/** Deepest output checked; JSONata outputs deeper than this are refused. */
const MAX_OUTPUT_DEPTH = 64;

class OutputError extends Error {}

export interface Evaluator {
  evaluate(job: EvaluationJob): Promise<EvaluationOutcome>;
}

/** An evaluator with a cache of compiled expressions (the same few run over and over). */
export function createEvaluator(): Evaluator {
  const cache = new Map<string, jsonata.Expression>();

  function compile(expression: string, limits: EvaluationLimits): jsonata.Expression {
    const key = `${limits.timeoutMs}:${limits.maxDepth}:${limits.maxSequence}:${expression}`;
    let compiled = cache.get(key);
    if (compiled) {
      cache.delete(key); // keep recently used ones last
    } else {
      compiled = jsonata(expression, {
        timeout: limits.timeoutMs,
        stack: limits.maxDepth,
        sequence: limits.maxSequence,
      });
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(key, compiled);
    return compiled;
  }

  return {
    async evaluate(job) {
      let stage: EvaluationStage = "compile";
      try {
        const expr = compile(job.expression, job.limits);
        const keyExpr = job.keyExpression ? compile(job.keyExpression, job.limits) : undefined;
        stage = "input";
        const input = readInput(job);
        if (input.rejected) return input.rejected;
        stage = "expression";
        const result: unknown = await expr.evaluate(input.value, job.bindings);
        stage = "output";
        const items = checkOutput(result, job.limits);
        const output = JSON.stringify(items);
        const bytes = utf8Length(output);
        if (bytes > job.limits.maxOutputBytes) {
          throw new OutputError(
            `output of ${bytes} bytes exceeds the limit of ${job.limits.maxOutputBytes}`,
          );
        }
        if (!keyExpr) return { ok: true, output };
        stage = "key";
        const keys: Array<string | null> = [];
        for (let index = 0; index < items.length; index++) {
          const key: unknown = await keyExpr.evaluate(input.value, {
            ...job.bindings,
            event: items[index],
            index,
          });
          if (key === undefined || key === null) keys.push(null);
          else if (typeof key === "string" || typeof key === "number") keys.push(String(key));
          else throw new OutputError(`the key expression gave a ${describe(key)}, not a string`);
        }
        return { ok: true, output, keys };
      } catch (err) {
        return failure(stage, err);
      }
    },
  };
}

function readInput(job: EvaluationJob): { value?: unknown; rejected?: EvaluationOutcome } {
  if (job.input.kind === "value") return { value: job.input.value };
  const text = job.input.text;
  const looksJson = /^\s*[[{"]/.test(text);
  try {
    return {
      value: secureJson.parse(text, undefined, {
        protoAction: "error",
        constructorAction: "error",
      }),
    };
  } catch (err) {
    if (err instanceof SyntaxError && /prototype/i.test(err.message)) {
      return {
        rejected: {
          ok: false,
          code: "schema",
          stage: "input",
          message: "payload uses a forbidden key (__proto__ or constructor.prototype)",
        },
      };
    }
    // Not JSON: devices also publish bare text (`RUN`), which the expression sees as a string.
    if (!looksJson) return { value: text };
    return {
      rejected: {
        ok: false,
        code: "mapping_error",
        stage: "input",
        message: `payload is not valid JSON: ${(err as Error).message}`,
      },
    };
  }
}

/** Zero, one or many items: undefined, an object, or an array of objects. */
function checkOutput(result: unknown, limits: EvaluationLimits): object[] {
  if (result === undefined) return [];
  const items = Array.isArray(result) ? result : [result];
  if (items.length > limits.maxEvents) {
    throw new OutputError(`${items.length} events exceed the limit of ${limits.maxEvents}`);
  }
  items.forEach((item, i) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new OutputError(`item ${i} of the output is ${describe(item)}, not an object`);
    }
    checkValue(item, `[${i}]`, 0);
  });
  return items as object[];
}

function checkValue(value: unknown, path: string, depth: number): void {
  if (typeof value === "function") throw new OutputError(`${path} is a function, not data`);
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value))
      throw new OutputError(`${path} is not a finite number`);
    return;
  }
  if (depth > MAX_OUTPUT_DEPTH) throw new OutputError(`${path} is nested too deeply`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, `${path}[${i}]`, depth + 1));
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== null && proto !== Object.prototype)
    throw new OutputError(`${path} is not a plain object`);
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key))
      throw new OutputError(`${path} has the forbidden key ${JSON.stringify(key)}`);
    checkValue((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}

function failure(stage: EvaluationStage, err: unknown): EvaluationOutcome {
  const e = err as { code?: unknown; message?: unknown; position?: unknown } | null;
  const jsonataCode = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  return {
    ok: false,
    code: "mapping_error",
    stage,
    message: `${stage === "compile" ? "expression does not compile" : `${stage} failed`}: ${message}`,
    ...(jsonataCode !== undefined && { jsonataCode }),
    ...(typeof e?.position === "number" && { position: e.position }),
  };
}

/** Bytes of a string as UTF-8 (what Buffer.byteLength says), without Node's Buffer. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
