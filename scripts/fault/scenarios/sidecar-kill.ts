/**
 * Scenario 1: the sidecar is killed with SIGKILL N times while a publisher sends QoS 1 events to
 * the canonical topic of a private Mosquitto; each time it starts again on the same SQLite file.
 * Expect every event stored exactly once.
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { publishSequence, range } from "../publisher.js";
import type { FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { waitForPending, type FaultSidecar } from "../sidecar.js";

export interface SidecarKillOptions {
  /** Most events sent; the publisher stops once the last restarted sidecar is ready. */
  events: number;
  kills: number;
  /** Publish rate, events/s. */
  rate: number;
  /** Time the restarted sidecar runs before the next kill, ms. */
  gapMs: number;
}

export function sidecarKillDefaults(scale: number): SidecarKillOptions {
  return { events: Math.round(20_000 * scale), kills: 5, rate: 300, gapMs: 2000 };
}

export async function sidecarKill(opts: SidecarKillOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  const dir = setup.tempDir("kill");
  try {
    const broker = await setup.broker();
    const env = setup.sidecarEnv({
      name: "fault-kill",
      mqttUrl: broker.url,
      store: join(dir, "store.db"),
    });
    let sidecar: FaultSidecar = await setup.sidecar(env);
    let peak = 0;
    let stop = false;
    const publishing = publishSequence({
      stop: () => stop,
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "pub1",
      seqs: range(opts.events),
      rate: opts.rate,
    });
    let done = false;
    void publishing.finally(() => (done = true));
    const restarts: number[] = [];
    const exitCodes: Array<number | null> = [];
    for (let k = 0; k < opts.kills; k++) {
      await new Promise((r) => setTimeout(r, opts.gapMs));
      if (done) break;
      peak = Math.max(peak, sidecar.peakRssMiB());
      const killedAt = Date.now();
      exitCodes.push(await sidecar.kill("SIGKILL"));
      sidecar = await setup.sidecar(env);
      restarts.push(Date.now() - killedAt);
    }
    // a little load on the last sidecar too, then the publisher stops
    await new Promise((r) => setTimeout(r, opts.gapMs));
    stop = true;
    const pub = await publishing;
    const drainMs = await waitForPending(sidecar, site, pub.sent, 60_000);
    peak = Math.max(peak, sidecar.peakRssMiB());
    const code = await sidecar.kill("SIGTERM");
    const result = await checkStore(env.PLANT_BRIDGE_STORE, site, expectedIds({ pub1: pub.sent }));
    const failures: string[] = [];
    if (restarts.length < opts.kills) {
      failures.push(`only ${restarts.length} kills before the publisher finished`);
    }
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (pub.unacked.length) failures.push(`${pub.unacked.length} never acknowledged by the broker`);
    if (Object.keys(result.deadLetters).length) failures.push("dead letters");
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    return {
      scenario: "sidecar-kill",
      description: `sidecar SIGKILLed ${restarts.length}x under QoS 1 load, restarted on the same SQLite store`,
      params: { ...opts },
      ...result,
      recoveryMs: restarts.length ? Math.max(...restarts) : null,
      drainMs: drainMs ?? null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        sidecarStartMs: sidecar.startMs,
        sidecarStopMs: sidecar.stopMs,
        killToReadyMs: restarts,
        killedExitCodes: exitCodes,
        publisher: { ...pub, unacked: pub.unacked.length },
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
