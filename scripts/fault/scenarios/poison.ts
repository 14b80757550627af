/**
 * Scenario 6: good traffic with 5 % hostile messages interleaved (deep nesting, invalid JSON,
 * wrong types, oversized), measured side by side with the same good traffic alone, on one
 * sidecar in the same run. Every good event is kept, every poison is a coded dead letter, and
 * the good traffic's throughput with poison should stay ≥ 0.9 of without.
 *
 * The same two streams also go to a raw mqtt.js subscriber that only counts (QoS 1, acknowledged
 * at once, same broker): how much the poison's bytes slow the transport itself (publisher,
 * broker, loopback) — what the sidecar cannot be faster than.
 */
import { join } from "node:path";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { checkStore, expectedIds } from "../checker.js";
import mqtt from "mqtt";
import { eventId, publishSequence, scrapEvent } from "../publisher.js";
import type { FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { waitForPending, type FaultSidecar } from "../sidecar.js";

export interface PoisonOptions {
  /** Good events per run (one run without poison, one with). */
  events: number;
  /** One message in `every` is poison in the second run (20: 5 %). */
  every: number;
  /** The poison kinds sent, in turn (indexes into POISON_KINDS). @default all */
  kinds?: number[];
  /** The sidecar's PLANT_BRIDGE_MAX_MESSAGE_BYTES; an oversized poison is 1 KiB more. @default 262144 */
  maxMessageBytes?: number;
}

/** FAULT_POISON_KINDS=too_large,schema narrows the poison to some codes (to see what costs). */
export function poisonDefaults(scale: number): PoisonOptions {
  const only = process.env.FAULT_POISON_KINDS?.split(",");
  return {
    events: Math.round(20_000 * scale),
    every: 20,
    ...(process.env.FAULT_MAX_MESSAGE_BYTES && {
      maxMessageBytes: Number(process.env.FAULT_MAX_MESSAGE_BYTES),
    }),
    ...(only && {
      kinds: POISON_KINDS.flatMap((k, i) => (only.includes(k.code) ? [i] : [])),
    }),
  };
}

/** The hostile kinds, in turn, and the dead letter code each must get. */
export const POISON_KINDS = [
  { kind: "deep nesting", code: "too_complex" },
  { kind: "invalid JSON", code: "invalid_json" },
  { kind: "wrong types", code: "schema" },
  { kind: "oversized", code: "too_large" },
] as const;

/** A distinct hostile payload (its own dead letter, not a repeat of another). */
export function poisonPayload(site: string, n: number, kind: number, maxBytes = 262_144): Buffer {
  const id = `poison-${String(n).padStart(6, "0")}`;
  switch (kind) {
    case 0:
      return Buffer.from(`{"id":"${id}","x":${"[".repeat(3000)}`);
    case 1:
      return Buffer.from(`{"id":"${id}","type":"scrap",`);
    case 2:
      return Buffer.from(
        JSON.stringify({ id, type: "scrap", site, occurredAt: 7, product: 1, quantity: "lots" }),
      );
    default:
      // just over the limit (1 KiB more)
      return Buffer.from(
        JSON.stringify({ id, type: "scrap", site, pad: "x".repeat(maxBytes + 1024) }),
      );
  }
}

function kindOf(opts: PoisonOptions, n: number): number {
  const kinds = opts.kinds ?? POISON_KINDS.map((_, i) => i);
  return kinds[n % kinds.length]!;
}

/** The good events a raw subscriber of `topic` has received (counts every message it gets). */
async function countingSubscriber(url: string, topic: string) {
  const client = await mqtt.connectAsync(url, {
    clientId: `fault-raw-${process.pid}`,
    protocolVersion: 5,
    clean: true,
  });
  let good = 0;
  client.on("message", (_t, payload) => {
    if (payload.length < 4096 && payload.includes('"type":"scrap"')) good++;
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    received: () => good,
    close: () => client.endAsync(true),
  };
}

/** Good events/s of the stream into the raw subscriber, with or without the poison. */
async function measureTransport(
  url: string,
  site: string,
  source: string,
  opts: PoisonOptions,
  poison: boolean,
): Promise<number> {
  const topic = `fault-raw/${source}`;
  const sub = await countingSubscriber(url, topic);
  try {
    const started = Date.now();
    await publish(url, topic, site, source, opts, poison);
    while (sub.received() < opts.events && Date.now() - started < 120_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return (opts.events / (Date.now() - started)) * 1000;
  } finally {
    await sub.close();
  }
}

/** The publisher's sequence: good event s at its place, a poison after every (every-1) good. */
async function publish(
  url: string,
  topic: string,
  site: string,
  source: string,
  opts: PoisonOptions,
  poison: boolean,
): Promise<number> {
  const seqs: number[] = [];
  let poisonSent = 0;
  for (let s = 0; s < opts.events; s++) {
    seqs.push(s);
    if (poison && s % (opts.every - 1) === opts.every - 2) seqs.push(-1 - poisonSent++);
  }
  const pub = await publishSequence({
    url,
    topic,
    site,
    source,
    seqs,
    window: 100,
    payload: (id, seq) =>
      seq < 0
        ? poisonPayload(site, -1 - seq, kindOf(opts, -1 - seq), opts.maxMessageBytes)
        : Buffer.from(scrapEvent(site, id)),
  });
  if (pub.unacked.length) throw new Error(`${pub.unacked.length} publishes never acknowledged`);
  return poisonSent;
}

async function measure(
  sidecar: FaultSidecar,
  url: string,
  site: string,
  source: string,
  opts: PoisonOptions,
  poison: boolean,
  base: number,
): Promise<{ rate: number; ms: number; poisonSent: number }> {
  const started = Date.now();
  const poisonSent = await publish(url, canonicalTopic(site), site, source, opts, poison);
  const waited = await waitForPending(sidecar, site, base + opts.events, 120_000);
  if (waited === undefined) throw new Error(`${source}: the store did not get every good event`);
  const ms = Date.now() - started;
  return { rate: (opts.events / ms) * 1000, ms, poisonSent };
}

export async function poisonMix(opts: PoisonOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup();
  const { cleanup, site } = setup;
  const dir = setup.tempDir("poison");
  try {
    const broker = await setup.broker();
    const env = setup.sidecarEnv({
      name: "fault-poison",
      mqttUrl: broker.url,
      store: join(dir, "store.db"),
      extra: {
        ...(opts.maxMessageBytes && {
          PLANT_BRIDGE_MAX_MESSAGE_BYTES: String(opts.maxMessageBytes),
        }),
      },
    });
    const sidecar = await setup.sidecar(env);
    // warm-up, not measured: the first messages pay for JIT and page cache
    const warm = Math.min(1000, opts.events);
    await measure(sidecar, broker.url, site, "warm", { ...opts, events: warm }, false, 0);
    const clean = await measure(sidecar, broker.url, site, "good", opts, false, warm);
    const mixed = await measure(sidecar, broker.url, site, "mixed", opts, true, warm + opts.events);
    const rawClean = await measureTransport(broker.url, site, "raw-good", opts, false);
    const rawMixed = await measureTransport(broker.url, site, "raw-mixed", opts, true);
    const transportRatio = rawMixed / rawClean;
    const peak = sidecar.peakRssMiB();
    const code = await sidecar.kill("SIGTERM");
    const result = await checkStore(
      env.PLANT_BRIDGE_STORE,
      site,
      expectedIds({ warm, good: opts.events, mixed: opts.events }),
    );
    const ratio = mixed.rate / clean.rate;
    const failures: string[] = [];
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    const expectedCodes: Record<string, number> = {};
    for (let n = 0; n < mixed.poisonSent; n++) {
      const code = POISON_KINDS[kindOf(opts, n)]!.code;
      expectedCodes[code] = (expectedCodes[code] ?? 0) + 1;
    }
    for (const [c, n] of Object.entries(expectedCodes)) {
      if (result.deadLetters[c] !== n) {
        failures.push(`${c}: ${result.deadLetters[c] ?? 0} dead letters for ${n} sent`);
      }
    }
    if (result.unexpected) failures.push(`${result.unexpected} unexpected rows`);
    // The goal is the sidecar's: its ratio against what the poison's bytes leave of the
    // transport itself (publisher, broker, loopback) in the same run.
    const ownRatio = ratio / transportRatio;
    if (ownRatio < 0.9) {
      failures.push(
        `throughput ratio ${ratio.toFixed(2)}, ${ownRatio.toFixed(2)} of the transport's ${transportRatio.toFixed(2)} (< 0.9)`,
      );
    }
    if (code !== 0) failures.push(`SIGTERM exit code ${code}`);
    return {
      scenario: "poison",
      description: `${opts.events} good events alone, then with 1 in ${opts.every} messages hostile`,
      params: { ...opts },
      ...result,
      recoveryMs: null,
      drainMs: null,
      peakRssMiB: peak,
      durationMs: Date.now() - started,
      observed: {
        sidecarStartMs: sidecar.startMs,
        sidecarStopMs: sidecar.stopMs,
        goodAlonePerS: Math.round(clean.rate),
        goodWithPoisonPerS: Math.round(mixed.rate),
        ratio: Math.round(ratio * 1000) / 1000,
        transportAlonePerS: Math.round(rawClean),
        transportWithPoisonPerS: Math.round(rawMixed),
        transportRatio: Math.round(transportRatio * 1000) / 1000,
        ratioToTransport: Math.round(ownRatio * 1000) / 1000,
        poisonSent: mixed.poisonSent,
        expectedDeadLetters: expectedCodes,
        firstPoisonId: eventId("poison", 0),
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
