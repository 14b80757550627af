/** Fuzz: CSV, fixed-width and XML file contents through the legacy formats into the store. */
import { hostileFile } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { legacyTarget } from "./targets/legacy.js";

describe("fuzz: legacy file contents", () => {
  it(
    "every file and row becomes an event or a known code; each valid row is kept once",
    async () => {
      const target = await legacyTarget();
      try {
        await runFuzz(target, hostileFile);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
