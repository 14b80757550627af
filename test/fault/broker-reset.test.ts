/**
 * The fault matrix's broker-reset scenario, short: the sidecar's connection to a private
 * Mosquitto goes through a proxy that resets it (RST) every second while a publisher sends QoS 1
 * events. `npm run fault -- broker-reset` is the full size.
 */
import { brokerReset } from "../../scripts/fault/scenarios/broker-reset.js";
import { mosquittoInstalled, need } from "./fault-env.js";

const up = need("no mosquitto binary for a private broker", mosquittoInstalled());

(up ? describe : describe.skip)("fault: broker connection resets under load", () => {
  it("loses none and keeps none twice", async () => {
    const r = await brokerReset({ events: 3000, rate: 500, resetEveryMs: 1000 });
    expect(r.observed.resets).toBeGreaterThanOrEqual(3);
    expect(r.sent).toBe(3000);
    expect({ missing: r.missing, duplicated: r.duplicated, deadLetters: r.deadLetters }).toEqual({
      missing: 0,
      duplicated: 0,
      deadLetters: {},
    });
    expect(r.failures).toEqual([]);
  }, 90_000);
});
