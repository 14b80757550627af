/**
 * Replays every input a fuzz run found (test/fuzz/regressions/*.json: `{target, note, input}`)
 * on its target, every run: each must be answered within the contract, like any fuzz input.
 * A new crasher from a run is written by the run (see harness.ts `createCrashLog`); copy it here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FuzzTarget, Saved } from "./harness.js";
import { TARGETS } from "./targets/index.js";

const dir = join(fileURLToPath(new URL(".", import.meta.url)), "regressions");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

interface Regression {
  target: string;
  note: string;
  input: Saved;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const open = new Map<string, FuzzTarget<any>>();
afterAll(async () => {
  for (const target of open.values()) await target.close();
});

describe("fuzz regressions", () => {
  it("has a target for every kept input", () => {
    for (const file of files) {
      const r = JSON.parse(readFileSync(join(dir, file), "utf8")) as Regression;
      expect([file, r.target in TARGETS]).toEqual([file, true]);
    }
  });

  it.each(files)("%s is answered within the contract", async (file) => {
    const r = JSON.parse(readFileSync(join(dir, file), "utf8")) as Regression;
    let target = open.get(r.target);
    if (!target) {
      target = await TARGETS[r.target]!();
      open.set(r.target, target);
    }
    await target.feed(target.load(r.input));
  });
});
