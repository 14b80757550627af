/** What one fault scenario saw, printed as a table row and written to bench/results/fault-<name>.json. */
import { mkdirSync, writeFileSync } from "node:fs";
import { projectPath } from "../../sidecar/src/paths.js";
import type { StoreCheck } from "./checker.js";

export interface FaultResult extends StoreCheck {
  scenario: string;
  description: string;
  params: Record<string, unknown>;
  /** Longest time from a fault's end (restart, space freed) until input flowed again, ms. */
  recoveryMs: number | null;
  /** From the last publish acknowledged (or the fault's end) until the store held everything, ms. */
  drainMs: number | null;
  /** Peak RSS of the sidecar child process(es), MiB (VmHWM). */
  peakRssMiB: number;
  durationMs: number;
  /** Scenario-specific observations (throughput, metrics, readiness...). */
  observed: Record<string, unknown>;
  /** What did not hold; empty: the scenario passed. */
  failures: string[];
  at: string;
}

export function writeResult(result: FaultResult): void {
  mkdirSync(projectPath("bench/results"), { recursive: true });
  writeFileSync(
    projectPath("bench/results", `fault-${result.scenario}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}

export function printTable(results: FaultResult[]): void {
  const rows = results.map((r) => ({
    scenario: r.scenario,
    sent: r.sent,
    kept: r.kept,
    missing: r.missing,
    duplicated: r.duplicated,
    redelivered: r.redeliveries,
    "dead letters": Object.entries(r.deadLetters)
      .map(([code, n]) => `${code}:${n}`)
      .join(" "),
    "recovery ms": r.recoveryMs ?? "-",
    "drain ms": r.drainMs ?? "-",
    "peak RSS MiB": Math.round(r.peakRssMiB),
    "took s": Math.round(r.durationMs / 100) / 10,
    result: r.failures.length ? `FAIL: ${r.failures.join("; ")}` : "ok",
  }));
  console.table(rows);
}

/** Runs cleanups in reverse order, each even when an earlier one throws. */
export class Cleanup {
  private fns: Array<() => Promise<void> | void> = [];
  add(fn: () => Promise<void> | void): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error("cleanup step failed:", err);
      }
    }
  }
}

export function scale(): number {
  const s = Number(process.env.FAULT_SCALE ?? 1);
  return Number.isFinite(s) && s > 0 ? s : 1;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
