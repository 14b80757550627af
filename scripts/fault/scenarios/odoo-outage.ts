/**
 * Scenario 7: Odoo goes down while the plant keeps reporting, and the sidecar is SIGKILLed during
 * the outage. A real Odoo 19 (demo database with plant_bridge), a private Mosquitto, one sidecar
 * on a SQLite store.
 *
 * 1. Steady: `steady` downtime events published as fast as the broker takes them, Odoo up; the
 *    steady posting rate is documents per second in Odoo between 10 % and 90 % of them.
 * 2. Outage: Odoo stopped; `backlog` events published; the sidecar is killed with SIGKILL `kills`
 *    times while they arrive and started again each time (on its cached configuration, Odoo
 *    being down); the store holds the whole backlog.
 * 3. Odoo started again: the backlog drains. Recovery is Odoo ready → first document of the
 *    backlog; the drain rate (10 % → 90 %, as for the steady rate) is compared with the steady one.
 *
 * 4. Steady again, on the database as the drain left it: the drain is also compared with it
 *    (the goal holds against the steady rate before or after the drain).
 *
 * Expect, counted in Odoo itself: every event's document exactly once, nothing rejected.
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { startOdoo } from "../../../test/helpers/odoo.js";
import { checkStore, expectedIds } from "../checker.js";
import { checkOdoo, downtimePayload, middleRate, ODOO_SITE, waitForDocuments } from "../odoo.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { waitForPending, type FaultSidecar } from "../sidecar.js";

export interface OdooOutageOptions {
  steady: number;
  backlog: number;
  kills: number;
  /** Drain goal: the backlog's drain rate over the steady rate. */
  drainRatioGoal: number;
}

export function odooOutageDefaults(scale: number): OdooOutageOptions {
  return {
    steady: Math.round(10_000 * scale),
    backlog: Math.round(30_000 * scale),
    kills: Number(process.env.FAULT_ODOO_KILLS ?? 2),
    drainRatioGoal: 0.9,
  };
}

export async function odooOutage(opts: OdooOutageOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup(ODOO_SITE);
  const { cleanup, site } = setup;
  const dir = setup.tempDir("odoo");
  try {
    const broker = await setup.broker();
    const odoo = await startOdoo();
    cleanup.add(() => odoo.destroy());
    const env = setup.sidecarEnv({
      name: "fault-odoo-outage",
      mqttUrl: broker.url,
      store: join(dir, "store.db"),
      extra: {
        PLANT_BRIDGE_ODOO_URL: odoo.url,
        PLANT_BRIDGE_ODOO_DB: odoo.db,
        PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      },
    });
    let sidecar: FaultSidecar = await setup.sidecar(env);
    let peak = 0;
    const topic = canonicalTopic(site);

    // 1. steady posting rate, Odoo up
    const steadyFrom = Date.now();
    const steadyPub = await publishSequence({
      url: broker.url,
      topic,
      site,
      source: "live",
      seqs: range(opts.steady),
      window: 200,
      payload: downtimePayload("2026-01-01"),
    });
    const steadyDone = await waitForDocuments(odoo, "live", opts.steady, 600_000, steadyFrom);
    // posting rates between 10 % and 90 % of the documents, for the steady run as for the
    // drain: Odoo's warm-up after its restart and the tail of the last batches are left out
    const steadyRate = middleRate(steadyDone, opts.steady);

    // 2. the outage, with SIGKILLs while the backlog arrives
    await odoo.stop();
    const outageAt = Date.now();
    let published = 0;
    const publishing = publishSequence({
      url: broker.url,
      topic,
      site,
      source: "outage",
      seqs: range(opts.backlog),
      window: 200,
      stop: () => (published++, false),
      payload: downtimePayload("2026-03-01"),
    });
    const killToReady: number[] = [];
    for (let k = 0; k < opts.kills; k++) {
      const due = ((k + 1) * opts.backlog) / (opts.kills + 1);
      while (published < due) await sleep(50);
      peak = Math.max(peak, sidecar.peakRssMiB());
      const killedAt = Date.now();
      await sidecar.kill("SIGKILL");
      sidecar = await setup.sidecar(env);
      killToReady.push(Date.now() - killedAt);
    }
    const outagePub = await publishing;
    const storedMs = await waitForPending(sidecar, site, opts.backlog, 300_000);
    const outageMs = Date.now() - outageAt;

    // 3. Odoo back: the backlog drains
    const restartAt = Date.now();
    await odoo.restart();
    const odooReadyMs = Date.now() - restartAt;
    const readyAt = Date.now();
    const drained = await waitForDocuments(odoo, "outage", opts.backlog, 900_000, readyAt);
    const drainRate = middleRate(drained, opts.backlog);
    peak = Math.max(peak, sidecar.peakRssMiB());

    // 4. steady again, on the database as the drain left it (its size, Odoo warm after the
    // restart): the drain is compared with the steady rate before and after it
    const afterFrom = Date.now();
    const afterPub = await publishSequence({
      url: broker.url,
      topic,
      site,
      source: "after",
      seqs: range(opts.steady),
      window: 200,
      payload: downtimePayload("2026-06-01"),
    });
    const afterDone = await waitForDocuments(odoo, "after", opts.steady, 600_000, afterFrom);
    const afterRate = middleRate(afterDone, opts.steady);
    const drainRatio = steadyRate > 0 ? drainRate / steadyRate : 0;
    const drainRatioAfter = afterRate > 0 ? drainRate / afterRate : 0;

    const expected = expectedIds({
      live: steadyPub.sent,
      outage: outagePub.sent,
      after: afterPub.sent,
    });
    const inOdoo = await checkOdoo(odoo, ["live", "outage", "after"], expected);
    await sidecar.kill("SIGTERM");
    const store = await checkStore(env.PLANT_BRIDGE_STORE, site, expected);

    const failures: string[] = [];
    if (!steadyDone) failures.push("the steady events did not all reach Odoo");
    if (storedMs === undefined) failures.push("the store did not hold the whole backlog");
    if (!drained) failures.push("the backlog did not drain into Odoo");
    if (inOdoo.missing) failures.push(`${inOdoo.missing} missing in Odoo`);
    if (inOdoo.duplicated) failures.push(`${inOdoo.duplicated} duplicated in Odoo`);
    if (Object.keys(inOdoo.rejected).length) failures.push("rejections in Odoo");
    if (store.missing || store.duplicated) failures.push("store missing/duplicated");
    if (!afterDone) failures.push("the steady events after the drain did not all reach Odoo");
    if (Math.max(drainRatio, drainRatioAfter) < opts.drainRatioGoal) {
      failures.push(
        `drain ${drainRatio.toFixed(2)} / ${drainRatioAfter.toFixed(2)} of the steady rate before / after (goal ${opts.drainRatioGoal})`,
      );
    }
    return {
      scenario: "odoo-outage",
      description: `Odoo down for ${opts.backlog} events with ${opts.kills} sidecar SIGKILLs during the outage, counted in Odoo`,
      params: { ...opts },
      ...store,
      recoveryMs: drained?.firstMs ?? null,
      drainMs: drained?.allMs ?? null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        odoo: inOdoo,
        steadyEventsPerSecond: Math.round(steadyRate),
        steadyMs: steadyDone?.allMs,
        drainEventsPerSecond: Math.round(drainRate),
        drainRatio: Math.round(drainRatio * 100) / 100,
        steadyAfterEventsPerSecond: Math.round(afterRate),
        drainRatioToSteadyAfter: Math.round(drainRatioAfter * 100) / 100,
        odooRestartMs: odooReadyMs,
        odooReadyToFirstDocumentMs: drained?.firstMs,
        odooReadyToAllDocumentsMs: drained?.allMs,
        outageMs,
        killToReadyMs: killToReady,
        publishers: [
          { ...steadyPub, unacked: steadyPub.unacked.length },
          { ...outagePub, unacked: outagePub.unacked.length },
          { ...afterPub, unacked: afterPub.unacked.length },
        ],
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
