/**
 * Scenario 2: the private Mosquitto (persistence on, max_queued_messages 1000000) is stopped
 * with SIGTERM or killed with SIGKILL and started again while two publishers send; publishers
 * send again what the broker had not acknowledged (QoS 1 across reconnects). SIGTERM: Mosquitto
 * saves its sessions and queues on the way out, so nothing may be missing. SIGKILL: it keeps only
 * what it saved before (autosave_interval, default 1800 s): the count of missing events is what
 * this scenario measures.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { readyz, waitForPending } from "../sidecar.js";

export interface BrokerRestartOptions {
  signal: "SIGTERM" | "SIGKILL";
  /** Most events per publisher (two publishers); they stop after the last restart. */
  events: number;
  /** Events/s per publisher. */
  rate: number;
  restarts: number;
  /** Publishing time before each stop, ms. */
  gapMs: number;
  /** How long the broker stays down, ms. */
  downMs: number;
  /** Extra mosquitto.conf lines (e.g. `autosave_interval 1`). */
  brokerConfig: string[];
}

export function brokerRestartDefaults(
  signal: BrokerRestartOptions["signal"],
  scale: number,
): BrokerRestartOptions {
  const autosave = process.env.FAULT_MOSQUITTO_AUTOSAVE;
  return {
    signal,
    events: Math.round(20_000 * scale),
    rate: 400,
    restarts: 3,
    gapMs: 3000,
    downMs: 1000,
    brokerConfig: autosave ? [`autosave_interval ${autosave}`] : [],
  };
}

export async function brokerRestart(opts: BrokerRestartOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  const dir = setup.tempDir("broker");
  try {
    const broker = await setup.broker(opts.brokerConfig);
    const env = setup.sidecarEnv({
      name: "fault-broker",
      mqttUrl: broker.url,
      store: join(dir, "store.db"),
    });
    const sidecar = await setup.sidecar(env);
    let stop = false;
    const publishers = ["pub1", "pub2"].map((source) =>
      publishSequence({
        url: broker.url,
        topic: canonicalTopic(site),
        site,
        source,
        seqs: range(opts.events),
        rate: opts.rate,
        stop: () => stop,
        ackTimeoutMs: 10_000,
      }),
    );
    const reconnectMs: Array<number | null> = [];
    for (let k = 0; k < opts.restarts; k++) {
      await sleep(opts.gapMs);
      await broker.kill(opts.signal);
      await sleep(opts.downMs);
      await broker.start();
      const back = Date.now();
      let ms: number | null = null;
      while (Date.now() - back < 30_000) {
        if ((await readyz(sidecar).catch(() => ({ status: 0 }))).status === 200) {
          ms = Date.now() - back;
          break;
        }
        await sleep(50);
      }
      reconnectMs.push(ms);
    }
    await sleep(opts.gapMs);
    stop = true;
    const pubs = await Promise.all(publishers);
    const sent = pubs.reduce((n, p) => n + p.sent, 0);
    const drainWait = await waitForPending(sidecar, site, sent, 30_000);
    const peak = sidecar.peakRssMiB();
    const code = await sidecar.kill("SIGTERM");
    const result = await checkStore(
      env.PLANT_BRIDGE_STORE,
      site,
      expectedIds(Object.fromEntries(pubs.map((p) => [p.source, p.sent]))),
    );
    const brokerLog = readFileSync(join(broker.dir, "mosquitto.log"), "utf8")
      .split("\n")
      .filter(
        (l) =>
          !/New client connected|New connection from|Client .* disconnected|closed its connection/.test(
            l,
          ) || /fault-/.test(l),
      );
    const failures: string[] = [];
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (pubs.some((p) => p.unacked.length)) failures.push("publishes never acknowledged");
    if (reconnectMs.includes(null)) failures.push("the sidecar did not reconnect within 30 s");
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    const valid = reconnectMs.filter((m): m is number => m !== null);
    return {
      scenario: opts.signal === "SIGTERM" ? "broker-sigterm" : "broker-sigkill",
      description: `private Mosquitto ${opts.signal} ${opts.restarts}x (down ${opts.downMs} ms) under two QoS 1 publishers`,
      params: { ...opts },
      ...result,
      recoveryMs: valid.length ? Math.max(...valid) : null,
      drainMs: drainWait ?? null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        sidecarStartMs: sidecar.startMs,
        sidecarStopMs: sidecar.stopMs,
        brokerBackToSidecarReadyMs: reconnectMs,
        publishers: pubs.map((p) => ({ ...p, unacked: p.unacked.length })),
        brokerLog: brokerLog.slice(-40),
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
