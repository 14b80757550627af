/**
 * The fault matrix's scenario 1, short: a real sidecar killed with SIGKILL while a
 * publisher sends QoS 1 events to a private Mosquitto, and restarted on the same SQLite store.
 * One kill: each restart costs a cold start of several seconds on a loaded 2-core machine.
 * `npm run fault -- sidecar-kill` is the full size (five kills).
 */
import { sidecarKill } from "../../scripts/fault/scenarios/sidecar-kill.js";
import { mosquittoInstalled, need } from "./fault-env.js";

const up = need("no mosquitto binary for a private broker", mosquittoInstalled());

(up ? describe : describe.skip)("fault: sidecar SIGKILL under load", () => {
  it("loses none and keeps none twice", async () => {
    const r = await sidecarKill({ events: 5000, kills: 1, rate: 300, gapMs: 1500 });
    expect(r.observed.killedExitCodes).toEqual([null]); // killed by the signal
    expect(r.sent).toBeGreaterThan(0);
    expect({ missing: r.missing, duplicated: r.duplicated, deadLetters: r.deadLetters }).toEqual({
      missing: 0,
      duplicated: 0,
      deadLetters: {},
    });
    expect(r.failures).toEqual([]);
  }, 90_000);
});
