/** Fuzz: mapped topics through the mapping route and engine (JSONata workers) into the store. */
import { hostileMapped } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { mappingTarget } from "./targets/mapping.js";

describe("fuzz: mapped topics", () => {
  it(
    "the mapping route commits every message and keeps each valid event once",
    async () => {
      const target = await mappingTarget();
      try {
        await runFuzz(target, hostileMapped);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
