/**
 * Scenario 9: the network between the broker and the sidecar resets its connections (RST, as a
 * firewall, a NAT timeout or a switch failover does) every `resetEveryMs` while a publisher
 * sends QoS 1 events. The sidecar reaches the private Mosquitto through a TCP proxy; the
 * publisher talks to Mosquitto directly. With a persistent session the broker keeps what the
 * sidecar has not acknowledged and sends it again after the reconnect.
 *
 * Expect every event stored exactly once (redeliveries recognised by the inbox).
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { faultProxy } from "../proxy.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { metric, waitForPending } from "../sidecar.js";

export interface BrokerResetOptions {
  events: number;
  /** Events/s. */
  rate: number;
  resetEveryMs: number;
}

export function brokerResetDefaults(scale: number): BrokerResetOptions {
  return { events: Math.round(20_000 * scale), rate: 500, resetEveryMs: 1500 };
}

export async function brokerReset(opts: BrokerResetOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  const dir = setup.tempDir("reset");
  try {
    const broker = await setup.broker();
    const proxy = await faultProxy(Number(new URL(broker.url).port));
    cleanup.add(() => proxy.close());
    const env = setup.sidecarEnv({
      name: "fault-reset",
      mqttUrl: `mqtt://127.0.0.1:${proxy.port}`,
      store: join(dir, "store.db"),
    });
    const sidecar = await setup.sidecar(env);
    let publishing = true;
    const pubDone = publishSequence({
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "pub1",
      seqs: range(opts.events),
      rate: opts.rate,
    }).finally(() => (publishing = false));
    let resets = 0;
    while (publishing) {
      await sleep(opts.resetEveryMs);
      if (!publishing) break;
      proxy.resetAll();
      resets++;
    }
    const pub = await pubDone;
    const drainMs = await waitForPending(sidecar, site, pub.sent, 120_000);
    const reconnects = proxy.connections - 1;
    const held = await metric(sidecar, "plant_bridge_ingest_held_total").catch(() => -1);
    const peak = sidecar.peakRssMiB();
    const code = await sidecar.kill("SIGTERM");
    const result = await checkStore(env.PLANT_BRIDGE_STORE, site, expectedIds({ pub1: pub.sent }));
    const failures: string[] = [];
    if (resets === 0) failures.push("no reset happened: the scenario tested nothing");
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (pub.unacked.length) failures.push(`${pub.unacked.length} never acknowledged by the broker`);
    if (Object.keys(result.deadLetters).length) failures.push("dead letters");
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    return {
      scenario: "broker-reset",
      description: `sidecar's broker connection reset (RST) every ${opts.resetEveryMs} ms under QoS 1 load`,
      params: { ...opts },
      ...result,
      recoveryMs: null,
      drainMs: drainMs ?? null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        resets,
        connectionsReset: proxy.reset,
        reconnects,
        ingestHeld: held,
        publisher: { ...pub, unacked: pub.unacked.length },
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
