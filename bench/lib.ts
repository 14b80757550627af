import { mkdirSync, writeFileSync } from "node:fs";
import { projectPath } from "../sidecar/src/paths.js";

/** One benchmark figure, measured side by side with its baseline in the same run. */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline: number;
  baselineName: string;
  /** value / baseline */
  ratio: number;
  params: Record<string, unknown>;
}

/** Prints the figures and writes `bench/results/<name>.json` (ARCHITECTURE.md "Benchmarks"). */
export function report(result: Omit<BenchResult, "ratio">): BenchResult {
  const full: BenchResult = { ...result, ratio: round(result.value / result.baseline, 3) };
  full.value = round(full.value, 1);
  full.baseline = round(full.baseline, 1);
  mkdirSync(projectPath("bench/results"), { recursive: true });
  writeFileSync(
    projectPath("bench/results", `${result.name}.json`),
    `${JSON.stringify(full, null, 2)}\n`,
  );
  console.log(
    `${full.name}: ${full.value} ${full.unit} vs ${full.baselineName} ${full.baseline} ${full.unit} (ratio ${full.ratio}) ${JSON.stringify(full.params)}`,
  );
  return full;
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
