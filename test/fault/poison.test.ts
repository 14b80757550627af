/**
 * The fault matrix's scenario 6, short: good events with 5 % hostile messages interleaved (deep
 * nesting, invalid JSON, wrong types, oversized) through a real sidecar on a private Mosquitto.
 * Every good event is kept, every poison is a dead letter with its code. The throughput ratio is
 * measured at full size only (`npm run fault -- poison`): at this size it is noise.
 */
import { poisonMix } from "../../scripts/fault/scenarios/poison.js";
import { mosquittoInstalled, need } from "./fault-env.js";

const up = need("no mosquitto binary for a private broker", mosquittoInstalled());

(up ? describe : describe.skip)("fault: 5 % poison among good traffic", () => {
  it("keeps every good event and codes every poison", async () => {
    const r = await poisonMix({ events: 600, every: 20 });
    expect({ missing: r.missing, duplicated: r.duplicated, unexpected: r.unexpected }).toEqual({
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    // 31 poison: 8 deep nesting, 8 invalid JSON, 8 wrong types, 7 oversized
    expect(r.deadLetters).toEqual(r.observed.expectedDeadLetters);
    expect(r.deadLetters).toEqual({ too_complex: 8, invalid_json: 8, schema: 8, too_large: 7 });
    expect(r.failures.filter((f) => !f.startsWith("throughput"))).toEqual([]);
  }, 90_000);
});
