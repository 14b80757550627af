/**
 * The JSONata sandbox with real worker threads: hostile expressions and payloads come back as
 * `mapping_error` (or `schema`) with their stage, and never stall the other evaluations.
 */
import {
  DEFAULT_EVALUATION_LIMITS,
  type EvaluationOutcome,
} from "../../sidecar/src/mapping-core/contract.js";
import { createLogger } from "../../sidecar/src/logger.js";
import {
  startSandboxPool,
  type SandboxPool,
} from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";

const TYPICAL = `{"type": "machine_status", "workcenter": $machine,
  "status": $lookup({"RUN": "running", "STOP": "down"}, state), "occurredAt": $fromMillis(ts)}`;
const PAYLOAD = JSON.stringify({ state: "RUN", ts: 1764144000000 });

let pool: SandboxPool;
const kills: string[] = [];
beforeAll(() => {
  pool = startSandboxPool({
    logger: createLogger({ level: "silent" }),
    workers: 2,
    hardTimeoutMs: 3000,
    onKill: (reason) => kills.push(reason),
  });
});
afterAll(() => pool.close());

function run(expression: string, text = PAYLOAD, extra = {}): Promise<EvaluationOutcome> {
  return pool.evaluate({
    expression,
    input: { kind: "text", text },
    bindings: { machine: "Drill 1" },
    limits: { ...DEFAULT_EVALUATION_LIMITS, ...extra },
  });
}

function failed(outcome: EvaluationOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got ${outcome.output}`);
  return outcome;
}

describe("JSONata sandbox", () => {
  it("maps a typical vendor payload", async () => {
    const outcome = await run(TYPICAL);
    expect(outcome).toEqual({
      ok: true,
      output: JSON.stringify([
        {
          type: "machine_status",
          workcenter: "Drill 1",
          status: "running",
          occurredAt: "2025-11-26T08:00:00.000Z",
        },
      ]),
    });
  });

  it("gives zero, one or many items, and keys from a key expression", async () => {
    expect(await run(`$[state = "STOP"]`)).toEqual({ ok: true, output: "[]" });
    const many = await pool.evaluate({
      expression: `[1, 2, 3].{"n": $}`,
      keyExpression: `$machine & ":" & $string($event.n) & ":" & $string($index)`,
      input: { kind: "text", text: PAYLOAD },
      bindings: { machine: "m" },
      limits: DEFAULT_EVALUATION_LIMITS,
    });
    expect(many).toEqual({
      ok: true,
      output: '[{"n":1},{"n":2},{"n":3}]',
      keys: ["m:1:0", "m:2:1", "m:3:2"],
    });
  });

  it("reads a payload that is not JSON as text", async () => {
    expect(await run(`{"status": $lowercase($)}`, "RUNNING")).toEqual({
      ok: true,
      output: '[{"status":"running"}]',
    });
    const broken = failed(await run(TYPICAL, '{"state": "RUN"'));
    expect([broken.code, broken.stage]).toEqual(["mapping_error", "input"]);
  });

  it.each([
    ["infinite tail recursion", "( $f := function($x){$f($x)}; $f(1) )", "D1012"],
    ["deep recursion", "( $f := function($x){$x + $f($x)}; $f(1) )", "D1011"],
    ["a huge range", "[1..10000000]", "D2015"],
    [
      "an endless loop of $map",
      "$map([1..50000], function($v){ $string($v) ~> $pad(1000) })",
      undefined,
    ],
  ])("stops %s with mapping_error", async (_what, expression, jsonataCode) => {
    // A time limit that a busy machine does not reach first, except for the endless loop.
    const timeoutMs = jsonataCode === "D1012" ? 100 : 2000;
    const outcome = failed(await run(expression, PAYLOAD, { timeoutMs }));
    expect(outcome.code).toBe("mapping_error");
    if (jsonataCode) expect(outcome.jsonataCode).toBe(jsonataCode);
  });

  it.each([
    ["a __proto__ key", `{"__proto__": {"polluted": true}}`, "forbidden key"],
    ["a constructor key", `{"a": {"constructor": 1}}`, "forbidden key"],
    ["a function as data", `{"f": function($x){$x}}`, "function"],
    ["a non-object item", `[1, 2]`, "not an object"],
    ["too many events", `[1..2000].{"n": $}`, "exceed the limit"],
    ["an output over the size limit", `{"big": $pad("", 2000000, "x")}`, "exceeds the limit"],
  ])("refuses an output with %s", async (_what, expression, why) => {
    const outcome = failed(await run(expression, PAYLOAD, { timeoutMs: 2000 }));
    expect([outcome.code, outcome.stage]).toEqual(["mapping_error", "output"]);
    expect(outcome.message).toContain(why);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a payload with a prototype key as schema", async () => {
    const outcome = failed(await run(TYPICAL, '{"__proto__": {"polluted": 1}, "state": "RUN"}'));
    expect([outcome.code, outcome.stage]).toEqual(["schema", "input"]);
  });

  it("reports a syntax error with its position", async () => {
    const outcome = failed(await run(`{"a": state`));
    expect(outcome.stage).toBe("compile");
    expect(outcome.jsonataCode).toBe("S0203");
    expect(outcome.position).toBeGreaterThan(0);
  });

  it("has no access to the process", async () => {
    for (const expression of [
      `$lookup($lookup({}, "constructor"), "constructor")("return process")()`,
      `$string.constructor("return process")()`,
      `$eval("$lookup({}, 'constructor')")`,
    ]) {
      const outcome = await run(expression);
      expect(outcome.ok ? outcome.output : outcome.code).not.toContain("process");
      if (outcome.ok) expect(outcome.output).toBe("[]");
    }
  });

  it("terminates a worker stuck in a catastrophic regex; the other evaluations still succeed", async () => {
    const before = kills.length;
    const started = Date.now();
    const stuck = run(`$match("${"a".repeat(40)}!", /(a+)+b/)`);
    const others = Array.from({ length: 50 }, () => run(TYPICAL));
    const outcome = failed(await stuck);
    expect(outcome.message).toContain("did not finish within 3000 ms");
    expect((await Promise.all(others)).every((o) => o.ok)).toBe(true);
    expect(kills.slice(before)).toEqual(["timeout"]);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The replacement worker takes new jobs.
    expect((await run(TYPICAL)).ok).toBe(true);
  });
});
