/**
 * Fuzz: the canonical JSON envelope, parser alone and through the canonical MQTT route into a
 * real SQLite store, with valid events interleaved (see harness.ts `runFuzz`).
 */
import { hostileMessage } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { canonicalParserTarget, canonicalRouteTarget } from "./targets/canonical.js";

describe("fuzz: canonical JSON envelope", () => {
  it(
    "the parser never throws and answers a valid event or a known code",
    async () => {
      await runFuzz(canonicalParserTarget(), hostileMessage);
    },
    fuzzTimeout(),
  );

  it(
    "the canonical MQTT route commits every message and keeps each valid event once",
    async () => {
      const target = await canonicalRouteTarget();
      try {
        await runFuzz(target, hostileMessage);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
