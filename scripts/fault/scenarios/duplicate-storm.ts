/**
 * Scenario 5: a duplicate storm. Distinct events, each published several times by four
 * publishers, reach two sidecars (distinct names, so distinct MQTT sessions, both on the
 * canonical topic) that share one PostgreSQL store: each (site, id) must be kept exactly once,
 * and every other copy counted as a duplicate on it.
 */
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import { publishSequence } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { metric, type FaultSidecar } from "../sidecar.js";

export interface DuplicateStormOptions {
  events: number;
  copies: number;
  publishers: number;
  sidecars: number;
}

export function duplicateStormDefaults(scale: number): DuplicateStormOptions {
  return { events: Math.round(1000 * scale), copies: 5, publishers: 4, sidecars: 2 };
}

export async function duplicateStorm(opts: DuplicateStormOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  try {
    const pg = await setup.postgres();
    const broker = await setup.broker();
    const sidecars: FaultSidecar[] = [];
    for (let i = 0; i < opts.sidecars; i++) {
      // one after the other: the first creates the schema
      const s = await setup.sidecar(
        setup.sidecarEnv({ name: `fault-storm-${i + 1}`, mqttUrl: broker.url, store: pg.url }),
      );
      sidecars.push(s);
    }
    const received0 = await Promise.all(
      sidecars.map((s) => metric(s, "plant_bridge_events_received_total")),
    );
    // publish j (of events * copies) carries event j % events and goes out from publisher j % n
    const total = opts.events * opts.copies;
    const t0 = Date.now();
    const pubs = await Promise.all(
      Array.from({ length: opts.publishers }, (_, p) =>
        publishSequence({
          url: broker.url,
          topic: canonicalTopic(site),
          site,
          source: "storm",
          clientName: `storm-pub${p + 1}`,
          seqs: Array.from({ length: total }, (_, j) => j)
            .filter((j) => j % opts.publishers === p)
            .map((j) => j % opts.events),
          window: 50,
        }),
      ),
    );
    // every sidecar receives every copy: wait until each has handled all of them
    const want = total;
    let drainMs: number | null = null;
    while (Date.now() - t0 < 60_000) {
      const got = await Promise.all(
        sidecars.map((s, i) =>
          metric(s, "plant_bridge_events_received_total").then((n) => n - received0[i]!),
        ),
      );
      if (got.every((n) => n >= want)) {
        drainMs = Date.now() - t0;
        break;
      }
      await sleep(100);
    }
    const received = await Promise.all(
      sidecars.map((s, i) =>
        metric(s, "plant_bridge_events_received_total").then((n) => n - received0[i]!),
      ),
    );
    const duplicatesSeen = await Promise.all(
      sidecars.map((s) => metric(s, "plant_bridge_events_duplicate_total")),
    );
    const peak = Math.max(...sidecars.map((s) => s.peakRssMiB()));
    const codes = await Promise.all(sidecars.map((s) => s.kill("SIGTERM")));
    const result = await checkStore(pg.url, site, expectedIds({ storm: opts.events }));
    const failures: string[] = [];
    if (result.kept !== opts.events) failures.push(`${result.kept} rows for ${opts.events} events`);
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    const copiesIn = total * opts.sidecars - opts.events;
    if (result.redeliveries !== copiesIn) {
      failures.push(`${result.redeliveries} duplicates counted for ${copiesIn} extra copies`);
    }
    if (drainMs === null) failures.push("not every copy handled within 60 s");
    if (pubs.some((p) => p.unacked.length)) failures.push("publishes never acknowledged");
    if (codes.some((c) => c !== 0)) failures.push(`SIGTERM exit codes ${codes.join(",")}`);
    return {
      scenario: "duplicate-storm",
      description: `${opts.events} events x${opts.copies} from ${opts.publishers} publishers through ${opts.sidecars} sidecars on one PostgreSQL store`,
      params: { ...opts },
      ...result,
      recoveryMs: null,
      drainMs,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        publishes: pubs.reduce((n, p) => n + p.publishes, 0),
        receivedPerSidecar: received,
        duplicateMetricPerSidecar: duplicatesSeen,
        extraCopiesExpected: copiesIn,
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
