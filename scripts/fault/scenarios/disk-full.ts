/**
 * Scenario 3: the SQLite store's disk fills up (a small tmpfs) while events arrive. The sidecar
 * must hold input back — no PUBACK, no dead letter, /readyz 503 "store failing", the failure
 * and hold-back counters rising — and once space is freed everything published arrives once.
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { mountTmpfs } from "../services.js";
import { metric, pending, readyz, waitForPending } from "../sidecar.js";

export interface DiskFullOptions {
  /** Events published while the disk is full. */
  events: number;
  /** Size of the tmpfs holding the store, MiB. */
  tmpfsMiB: number;
  /** How long the disk stays full once the sidecar reports it, ms. */
  holdMs: number;
}

export function diskFullDefaults(scale: number): DiskFullOptions {
  return { events: Math.round(5_000 * scale), tmpfsMiB: 32, holdMs: 10_000 };
}

export async function diskFull(opts: DiskFullOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  try {
    const fs = await mountTmpfs(opts.tmpfsMiB); // throws without root: the caller reports it
    cleanup.add(() => fs.unmount());
    const broker = await setup.broker();
    const env = setup.sidecarEnv({
      name: "fault-disk",
      mqttUrl: broker.url,
      store: join(fs.dir, "store.db"),
    });
    const sidecar = await setup.sidecar(env);
    const fillerBytes = await fs.fill();
    const filledAt = Date.now();
    const failures0 = await metric(sidecar, "plant_bridge_store_failures_total");
    const held0 = await metric(sidecar, "plant_bridge_ingest_held_total");

    const publishing = publishSequence({
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "pub1",
      seqs: range(opts.events),
      window: 100,
      ackTimeoutMs: 20_000,
      maxAttempts: 10,
    });
    const failures: string[] = [];
    // the sidecar says so
    let ready = { status: 200, reasons: [] as string[] };
    const t0 = Date.now();
    while (Date.now() - t0 < 30_000) {
      ready = await readyz(sidecar).catch(() => ready);
      if (ready.status === 503) break;
      await sleep(100);
    }
    const detectedMs = Date.now() - t0;
    if (ready.status !== 503 || !/store failing/.test(ready.reasons.join(" "))) {
      failures.push(`/readyz did not report the store: ${ready.status} ${ready.reasons.join(" ")}`);
    }
    await sleep(opts.holdMs);
    const pub = await publishing; // the broker took them all (it acknowledges the publisher)
    const keptWhileFull = await pending(sidecar, site);
    const readyWhileFull = await readyz(sidecar);
    const storeFailures = (await metric(sidecar, "plant_bridge_store_failures_total")) - failures0;
    const held = (await metric(sidecar, "plant_bridge_ingest_held_total")) - held0;
    if (storeFailures <= 0) failures.push("plant_bridge_store_failures_total did not rise");
    if (held <= 0) failures.push("plant_bridge_ingest_held_total did not rise");
    if (readyWhileFull.status !== 503) failures.push("/readyz back to 200 while the disk was full");

    fs.free();
    const freedAt = Date.now();
    let recoveryMs: number | null = null;
    while (Date.now() - freedAt < 60_000) {
      if ((await readyz(sidecar).catch(() => ({ status: 0 }))).status === 200) {
        recoveryMs = Date.now() - freedAt;
        break;
      }
      await sleep(100);
    }
    const drainWait = await waitForPending(sidecar, site, pub.sent, 60_000);
    const drainMs = drainWait === undefined ? null : Date.now() - freedAt;
    const peak = sidecar.peakRssMiB();
    const code = await sidecar.kill("SIGTERM");
    const holdBacks = sidecar.proc
      .output()
      .split("\n")
      .filter((l) => l.includes("holding input back"));
    const result = await checkStore(env.PLANT_BRIDGE_STORE, site, expectedIds({ pub1: pub.sent }));
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (Object.keys(result.deadLetters).length) failures.push("dead letters for a store failure");
    if (recoveryMs === null) failures.push("/readyz not 200 within 60 s of freeing space");
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    return {
      scenario: "disk-full",
      description: `SQLite store on a full ${opts.tmpfsMiB} MiB tmpfs for ${opts.holdMs / 1000} s while events arrive, then space freed`,
      params: { ...opts },
      ...result,
      recoveryMs,
      drainMs,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        sidecarStartMs: sidecar.startMs,
        sidecarStopMs: sidecar.stopMs,
        fillerBytes,
        readyzWhileFull: readyWhileFull,
        readyz503AfterMs: detectedMs,
        keptWhileFull,
        storeFailuresWhileFull: storeFailures,
        ingestHeldWhileFull: held,
        holdBackLogLines: holdBacks.length,
        // [ms since the disk was filled, reconnect delay the sidecar chose]: its backoff
        holdBackAt: holdBacks.map((l) => {
          const j = JSON.parse(l) as { time: number; retryInMs?: number };
          return [j.time - filledAt, j.retryInMs];
        }),
        lastHoldBackLog: holdBacks.slice(-1)[0]?.slice(0, 300),
        publisher: { ...pub, unacked: pub.unacked.length },
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
