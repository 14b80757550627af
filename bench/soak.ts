/**
 * `npm run soak`: a real sidecar process (SQLite store, a private Mosquitto with deep queues,
 * Odoo offline so the backlog stays on disk) under a steady plant rate for a long time, or under a large backlog as
 * fast as it takes it. Samples the sidecar's RSS, open file descriptors and store size, then
 * stops it and counts what the store kept against what was sent (missing, duplicated).
 *
 *   npm run soak -- --minutes 30 --rate 200      the 30-minute soak at 200 events/s (steady)
 *   npm run soak -- --events 1000000             a 1,000,000-event backlog, as fast as possible
 *
 * The backlog sender stays at most `--lead` (50,000) events ahead of what the store holds: a
 * broker holding hundreds of thousands of messages for one session slows down by itself
 * (Mosquitto's queue handling), and that is the broker's backlog, not the sidecar's store.
 *
 * Prints the samples and a summary, and writes bench/results/soak-<steady|backlog>.json: `value`
 * is the RSS at the end, `baseline` the RSS at the start, `ratio` their quotient (flat: ~1).
 */
import { readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import { projectPath } from "../sidecar/src/paths.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { startSidecarProcess } from "../test/helpers/sidecar-process.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    rate: { type: "string", default: "200" },
    events: { type: "string" },
    sample: { type: "string", default: "15" },
    lead: { type: "string", default: "50000" },
  },
});
const backlog = values.events !== undefined;
const mode = backlog ? "backlog" : "steady";
const total = backlog ? Number(values.events) : Infinity;
const durationMs = backlog ? Infinity : Number(values.minutes ?? "30") * 60_000;
const rate = backlog ? Infinity : Number(values.rate);
const sampleMs = Number(values.sample) * 1000;

interface Sample {
  atSeconds: number;
  sent: number;
  rssMiB: number;
  /** V8 heap in use (from /metrics): a leak of ours grows this, caches of SQLite do not. */
  heapMiB: number;
  fds: number;
  storeMiB: number;
}

const dir = mkdtempSync(join(tmpdir(), "pb-soak-"));
// A private broker sized as the README tells operators (the machine's default Mosquitto drops
// QoS 1 messages for a subscriber more than 1,000 behind, and a backlog sender is that far ahead
// within a second).
const broker = await startMosquitto();
const mqttUrl = broker.url;
const storePath = join(dir, "store.db");
const site = `soak_${Date.now().toString(36)}`;
const sidecar = await startSidecarProcess({
  PLANT_BRIDGE_MQTT_URL: mqttUrl,
  PLANT_BRIDGE_STORE: storePath,
  PLANT_BRIDGE_SITE: site,
  PLANT_BRIDGE_NAME: `soak-${site}`,
  PLANT_BRIDGE_LOG_LEVEL: "warn",
  PLANT_BRIDGE_SPARKPLUG_GROUPS: "none",
});
const pid = sidecar.child.pid!;
const topic = `plant-bridge/v1/${site}/events`;
const publisher = await mqtt.connectAsync(mqttUrl, { clientId: `soak-pub-${site}` });

function event(n: number): string {
  const occurredAt = new Date().toISOString();
  const id = `soak-${n}`;
  switch (n % 4) {
    case 0:
      return JSON.stringify({ id, type: "scrap", occurredAt, product: "FURN_8522", quantity: 1 });
    case 1:
      return JSON.stringify({
        id,
        type: "machine_status",
        occurredAt,
        workcenter: `Machine ${n % 20}`,
        status: n % 8 === 1 ? "down" : "running",
        counters: { good: n, bad: n % 7 },
      });
    case 2:
      return JSON.stringify({
        id,
        type: "production",
        occurredAt,
        order: `WH/MO/${String(n % 500).padStart(5, "0")}`,
        quantity: 1,
      });
    default:
      return JSON.stringify({
        id,
        type: "consumption",
        occurredAt,
        order: `WH/MO/${String(n % 500).padStart(5, "0")}`,
        product: "FURN_7023",
        quantity: 2,
        lot: `LOT-${n % 50}`,
      });
  }
}

function procStatus(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return m ? Number(m[1]) / 1024 : NaN;
}

function storeMiB(): number {
  return (
    readdirSync(dir)
      .filter((f) => f.startsWith("store.db"))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) /
    (1024 * 1024)
  );
}

const samples: Sample[] = [];
const started = Date.now();
let sent = 0;
async function heapMiB(): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`)).text();
    const m = /^plant_bridge_process_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    return m ? Math.round((Number(m[1]) / (1024 * 1024)) * 10) / 10 : NaN;
  } catch {
    return NaN;
  }
}

async function sample(): Promise<void> {
  const s: Sample = {
    atSeconds: Math.round((Date.now() - started) / 1000),
    sent,
    rssMiB: Math.round(procStatus("VmRSS") * 10) / 10,
    heapMiB: await heapMiB(),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    storeMiB: Math.round(storeMiB() * 10) / 10,
  };
  samples.push(s);
  console.log(
    `t=${s.atSeconds}s sent=${s.sent} rss=${s.rssMiB}MiB heap=${s.heapMiB}MiB fds=${s.fds} store=${s.storeMiB}MiB`,
  );
}
await sample();
const sampler = setInterval(() => void sample(), sampleMs);

// At most 1,000 publishes in flight (QoS 1 waits for the broker's PUBACK).
const inFlight = new Set<Promise<unknown>>();
async function publish(n: number): Promise<void> {
  const p = publisher.publishAsync(topic, event(n), { qos: 1 });
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
  if (inFlight.size >= 1000) await Promise.race(inFlight);
}

/** Rows the store holds (this store has only the soak's site; max(seq) is one index lookup). */
function storedRows(): number {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT coalesce(max(seq), 0) AS n FROM messages").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

if (backlog) {
  const lead = Number(values.lead);
  while (sent < total) {
    if (sent % 10_000 === 0 && sent > 0) {
      while (sent - storedRows() > lead) await new Promise((r) => setTimeout(r, 200));
    }
    await publish(sent++);
  }
} else {
  const tickMs = 100;
  while (Date.now() - started < durationMs) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (sent < due) await publish(sent++);
    await new Promise((r) => setTimeout(r, tickMs));
  }
}
await Promise.all(inFlight);
const publishedMs = Date.now() - started;

// Wait until the store holds everything (the sidecar commits on its own schedule), at most 10 min.
function counts(): { rows: number; uniq: number } {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        "SELECT count(*) AS rows, count(DISTINCT event_id) AS uniq FROM messages WHERE site = ?",
      )
      .get(site) as { rows: number; uniq: number };
  } finally {
    db.close();
  }
}
const waitDeadline = Date.now() + 600_000;
let kept = counts();
while (kept.uniq < sent && Date.now() < waitDeadline) {
  await new Promise((r) => setTimeout(r, 1000));
  kept = counts();
}
const keptMs = Date.now() - started;
await sample();
clearInterval(sampler);
await publisher.endAsync();
await sidecar.kill("SIGTERM");
await broker.stop();

const rss = samples.map((s) => s.rssMiB);
// Growth between the first and the last quarter of the run (flat RSS: close to 0).
const quarter = Math.max(1, Math.floor(samples.length / 4));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = {
  name: `soak-${mode}`,
  unit: "MiB RSS",
  value: rss[rss.length - 1],
  baseline: rss[0],
  baselineName: "sidecar RSS at the start of the run",
  ratio: Math.round((rss[rss.length - 1]! / rss[0]!) * 1000) / 1000,
  params: backlog ? { events: total } : { minutes: durationMs / 60_000, rate },
  sent,
  kept: kept.uniq,
  missing: sent - kept.uniq,
  duplicated: kept.rows - kept.uniq,
  publishSeconds: Math.round(publishedMs / 100) / 10,
  allKeptAfterSeconds: Math.round(keptMs / 100) / 10,
  rssMiB: { first: rss[0], max: Math.max(...rss), last: rss[rss.length - 1] },
  heapMiB: {
    first: samples[1]?.heapMiB ?? samples[0]!.heapMiB,
    max: Math.max(...samples.map((x) => x.heapMiB)),
    last: samples[samples.length - 1]!.heapMiB,
  },
  heapGrowthFirstToLastQuarterMiB:
    Math.round(
      (avg(samples.slice(-quarter).map((x) => x.heapMiB)) -
        avg(samples.slice(1, 1 + quarter).map((x) => x.heapMiB))) *
        10,
    ) / 10,
  rssGrowthFirstToLastQuarterMiB:
    Math.round((avg(rss.slice(-quarter)) - avg(rss.slice(1, 1 + quarter))) * 10) / 10,
  fds: { first: samples[0]!.fds, max: Math.max(...samples.map((s) => s.fds)) },
  storeMiB: samples[samples.length - 1]!.storeMiB,
  samples,
};
console.log(JSON.stringify({ ...summary, samples: undefined }, null, 2));
writeFileSync(
  projectPath(`bench/results/soak-${mode}.json`),
  `${JSON.stringify(summary, null, 2)}\n`,
);
rmSync(dir, { recursive: true, force: true });
process.exit(summary.missing === 0 && summary.duplicated === 0 ? 0 : 1);
