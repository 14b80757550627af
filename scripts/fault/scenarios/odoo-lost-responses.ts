/**
 * Scenario 8: Odoo's answers get lost. The sidecar talks to a real Odoo 19 through a TCP proxy
 * that, for every `cutEvery`-th `post_events` call, lets the request through and cuts both
 * connections as soon as Odoo starts answering: Odoo has committed the batch, the sidecar never
 * hears it and must post it again. A publisher sends `events` downtime events meanwhile.
 *
 * Expect, counted in Odoo itself: every event's document exactly once (the repeated batch is
 * answered as duplicates by the trace's unique (site, key)), nothing rejected.
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { startOdoo } from "../../../test/helpers/odoo.js";
import { checkStore, expectedIds } from "../checker.js";
import { checkOdoo, downtimePayload, ODOO_SITE, waitForDocuments } from "../odoo.js";
import { faultProxy } from "../proxy.js";
import { publishSequence, range } from "../publisher.js";
import type { FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { metric } from "../sidecar.js";

export interface OdooLostResponsesOptions {
  events: number;
  /** Events per second published. */
  rate: number;
  /** Every n-th post_events call loses its answer. */
  cutEvery: number;
}

export function odooLostResponsesDefaults(scale: number): OdooLostResponsesOptions {
  return { events: Math.round(10_000 * scale), rate: 500, cutEvery: 3 };
}

export async function odooLostResponses(opts: OdooLostResponsesOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup(ODOO_SITE);
  const { cleanup, site } = setup;
  const dir = setup.tempDir("lost");
  try {
    const broker = await setup.broker();
    const odoo = await startOdoo();
    cleanup.add(() => odoo.destroy());
    let posts = 0;
    const proxy = await faultProxy(odoo.port, {
      cutAnswer: (chunk) =>
        chunk.toString("latin1").includes("/json/2/plant_bridge.api/post_events") &&
        ++posts % opts.cutEvery === 0,
    });
    cleanup.add(() => proxy.close());
    const env = setup.sidecarEnv({
      name: "fault-odoo-lost",
      mqttUrl: broker.url,
      store: join(dir, "store.db"),
      extra: {
        PLANT_BRIDGE_ODOO_URL: `http://127.0.0.1:${proxy.port}`,
        PLANT_BRIDGE_ODOO_DB: odoo.db,
        PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
      },
    });
    const sidecar = await setup.sidecar(env);
    const from = Date.now();
    const pub = await publishSequence({
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "lost",
      seqs: range(opts.events),
      rate: opts.rate,
      payload: downtimePayload("2026-05-01"),
    });
    const publishedMs = Date.now() - from;
    const done = await waitForDocuments(odoo, "lost", pub.sent, 600_000, from);
    const postingCalls = await metric(sidecar, "plant_bridge_post_batches_total").catch(() => -1);
    const peak = sidecar.peakRssMiB();
    const expected = expectedIds({ lost: pub.sent });
    const inOdoo = await checkOdoo(odoo, ["lost"], expected);
    await sidecar.kill("SIGTERM");
    const store = await checkStore(env.PLANT_BRIDGE_STORE, site, expected);

    const failures: string[] = [];
    if (!done) failures.push("not every event reached Odoo");
    if (proxy.cut === 0) failures.push("no answer was cut: the scenario tested nothing");
    if (inOdoo.missing) failures.push(`${inOdoo.missing} missing in Odoo`);
    if (inOdoo.duplicated) failures.push(`${inOdoo.duplicated} duplicated in Odoo`);
    if (Object.keys(inOdoo.rejected).length) failures.push("rejections in Odoo");
    if (store.missing || store.duplicated) failures.push("store missing/duplicated");
    return {
      scenario: "odoo-lost-responses",
      description: `every ${opts.cutEvery}rd post_events answer cut after Odoo committed, ${opts.events} events, counted in Odoo`,
      params: { ...opts },
      ...store,
      recoveryMs: null,
      drainMs: done ? done.allMs - publishedMs : null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        odoo: inOdoo,
        postCalls: posts,
        answersCut: proxy.cut,
        sidecarPostingCalls: postingCalls,
        publishedMs,
        allInOdooMs: done?.allMs,
        publisher: { ...pub, unacked: pub.unacked.length },
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
