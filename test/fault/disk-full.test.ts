/**
 * The fault matrix's scenario 3, short: the SQLite store's tmpfs is full while events arrive.
 * The sidecar holds them back (no dead letter, /readyz 503 "store failing", the failure and
 * hold-back counters rise) and keeps every one once space is freed. Needs root for the mount.
 * `npm run fault -- disk-full` is the full size.
 */
import { diskFull } from "../../scripts/fault/scenarios/disk-full.js";
import { mountTmpfs } from "../../scripts/fault/services.js";
import { mosquittoInstalled, need } from "./fault-env.js";

async function canMount(): Promise<boolean> {
  try {
    await (await mountTmpfs(1)).unmount();
    return true;
  } catch {
    return false;
  }
}

const up =
  need("no mosquitto binary for a private broker", mosquittoInstalled()) &&
  need("cannot mount a tmpfs (not root?): the full-disk fault did not run", await canMount());

(up ? describe : describe.skip)("fault: the SQLite store's disk is full", () => {
  it("holds input back visibly, dead-letters nothing, and loses nothing once space is freed", async () => {
    const r = await diskFull({ events: 500, tmpfsMiB: 16, holdMs: 1500 });
    const seen = r.observed as {
      readyzWhileFull: { status: number; reasons: string[] };
      storeFailuresWhileFull: number;
      ingestHeldWhileFull: number;
      keptWhileFull: number;
    };
    expect(seen.readyzWhileFull.status).toBe(503);
    expect(seen.readyzWhileFull.reasons.join(" ")).toMatch(/store failing since .* held back/);
    expect(seen.storeFailuresWhileFull).toBeGreaterThan(0);
    expect(seen.ingestHeldWhileFull).toBeGreaterThan(0);
    expect({ missing: r.missing, duplicated: r.duplicated, deadLetters: r.deadLetters }).toEqual({
      missing: 0,
      duplicated: 0,
      deadLetters: {},
    });
    expect(r.kept).toBe(500);
    expect(r.failures).toEqual([]);
  }, 90_000);
});
