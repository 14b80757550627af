/** Fuzz: Sparkplug B payloads, the codec alone and through the Sparkplug route into the store. */
import { hostileSparkplug, hostileSparkplugMessage } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { sparkplugCodecTarget, sparkplugTarget } from "./targets/mapping.js";

describe("fuzz: Sparkplug B", () => {
  it(
    "the codec decodes a payload or throws an Error, and what it decodes is JSON",
    async () => {
      await runFuzz(sparkplugCodecTarget(), hostileSparkplug);
    },
    fuzzTimeout(),
  );

  it(
    "the Sparkplug route commits every message and keeps each valid event once",
    async () => {
      const target = await sparkplugTarget();
      try {
        await runFuzz(target, hostileSparkplugMessage);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
