/**
 * Scenario 4: the PostgreSQL store (a private cluster) is stopped with `pg_ctl stop -m
 * immediate` while a publisher sends, and started again. The sidecar holds input back while it
 * cannot commit; afterwards every event is stored exactly once.
 */
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { metric, readyz, waitForPending } from "../sidecar.js";

export interface PgRestartOptions {
  /** Most events; the publisher stops `gapMs` after PostgreSQL is back. */
  events: number;
  rate: number;
  gapMs: number;
  /** How long PostgreSQL stays down, ms. */
  downMs: number;
}

export function pgRestartDefaults(scale: number): PgRestartOptions {
  return { events: Math.round(20_000 * scale), rate: 500, gapMs: 3000, downMs: 5000 };
}

export async function pgRestart(opts: PgRestartOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  try {
    const pg = await setup.postgres();
    const broker = await setup.broker();
    const env = setup.sidecarEnv({
      name: "fault-pg",
      mqttUrl: broker.url,
      store: pg.url,
    });
    const sidecar = await setup.sidecar(env);
    let stop = false;
    const publishing = publishSequence({
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "pub1",
      seqs: range(opts.events),
      rate: opts.rate,
      stop: () => stop,
    });
    await sleep(opts.gapMs);
    await pg.stop("immediate");
    const stoppedAt = Date.now();
    let whileDown = { status: 0, reasons: [] as string[] };
    while (Date.now() - stoppedAt < opts.downMs) {
      const r = await readyz(sidecar).catch(() => undefined);
      if (r && r.status === 503) whileDown = r;
      await sleep(200);
    }
    const exited = () => sidecar.proc.child.exitCode ?? sidecar.proc.child.signalCode;
    if (exited() !== null) {
      throw new Error(
        `the sidecar exited (${exited()}) while PostgreSQL was down:\n${sidecar.proc.output().slice(-3000)}`,
      );
    }
    // read while PostgreSQL is still down: what a Prometheus scrape sees then
    const failuresDown = await metric(sidecar, "plant_bridge_store_failures_total").catch(String);
    const heldDown = await metric(sidecar, "plant_bridge_ingest_held_total").catch(String);
    await pg.start();
    const backAt = Date.now();
    let recoveryMs: number | null = null;
    while (Date.now() - backAt < 60_000) {
      if ((await readyz(sidecar).catch(() => ({ status: 0 }))).status === 200) {
        recoveryMs = Date.now() - backAt;
        break;
      }
      await sleep(100);
    }
    await sleep(opts.gapMs);
    stop = true;
    const pub = await publishing;
    const drained = await waitForPending(sidecar, site, pub.sent, 60_000);
    const peak = sidecar.peakRssMiB();
    const code = await sidecar.kill("SIGTERM");
    const holdBacks = sidecar.proc
      .output()
      .split("\n")
      .filter((l) => l.includes("holding input back"))
      .map((l) => {
        const j = JSON.parse(l) as { time: number; retryInMs?: number };
        return [j.time - stoppedAt, j.retryInMs];
      });
    const result = await checkStore(pg.url, site, expectedIds({ pub1: pub.sent }));
    const failures: string[] = [];
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (Object.keys(result.deadLetters).length) failures.push("dead letters for a store failure");
    if (typeof failuresDown !== "number" || !(failuresDown > 0)) {
      failures.push(`plant_bridge_store_failures_total while down: ${failuresDown}`);
    }
    if (whileDown.status !== 503) failures.push("/readyz never 503 while PostgreSQL was down");
    if (recoveryMs === null) failures.push("/readyz not 200 within 60 s of the restart");
    if (pub.unacked.length) failures.push("publishes never acknowledged");
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    return {
      scenario: "pg-restart",
      description: `PostgreSQL store stopped (immediate) for ${opts.downMs / 1000} s under a QoS 1 publisher`,
      params: { ...opts },
      ...result,
      recoveryMs,
      drainMs: drained ?? null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        sidecarStartMs: sidecar.startMs,
        sidecarStopMs: sidecar.stopMs,
        readyzWhileDown: whileDown,
        storeFailuresTotal: failuresDown,
        ingestHeldTotal: heldDown,
        holdBackAt: holdBacks,
        publisher: { ...pub, unacked: pub.unacked.length },
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
