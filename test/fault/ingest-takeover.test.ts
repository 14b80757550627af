/**
 * A hot standby, short: two sidecars of one ingest group on a private PostgreSQL and a private
 * Mosquitto; the ingest owner is SIGKILLed, then its PostgreSQL session is ended, while a publisher sends QoS 1 events, and the
 * standby takes over the group's persistent session each time. `npm run fault --
 * ingest-takeover` is the full size (five kills), `ingest-takeover-odoo` posts into a real Odoo.
 */
import { ingestTakeover } from "../../scripts/fault/scenarios/ingest-takeover.js";
import { postgresBin } from "../../scripts/fault/services.js";
import { mosquittoInstalled, need } from "./fault-env.js";

const up =
  need("no mosquitto binary for a private broker", mosquittoInstalled()) &&
  need("no PostgreSQL binaries for a private cluster", postgresBin() !== undefined);

(up ? describe : describe.skip)("fault: ingest owner SIGKILL with a hot standby", () => {
  it("the standby takes over within seconds; loses none and keeps none twice", async () => {
    const r = await ingestTakeover({
      events: 100_000,
      kills: 2,
      rate: 200,
      gapMs: 2000,
      odoo: false,
      lostSessions: true,
    });
    expect(r.failures).toEqual([]);
    expect(r.observed.killedExitCodes).toEqual([null]); // killed by the signal
    expect(r.observed.sessionsLost).toBe(1); // then its PostgreSQL session lost, it lived on
    expect(r.sent).toBeGreaterThan(0);
    expect({ missing: r.missing, duplicated: r.duplicated, deadLetters: r.deadLetters }).toEqual({
      missing: 0,
      duplicated: 0,
      deadLetters: {},
    });
    // the standby owns within seconds of the kill (a poll of 1 s, then its broker connection)
    for (const ms of r.observed.killToOwnerMs as number[]) expect(ms).toBeLessThan(10_000);
  }, 420_000);
});
