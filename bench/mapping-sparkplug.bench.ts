/**
 * Sparkplug B decode rate: DDATA messages (10 alias-only metrics of mixed types) through the
 * host — protobuf decode, names restored from the birth certificate's aliases, sequence
 * tracking, the JSON-able input mappings read — side by side with `JSON.parse` of the same
 * message written as JSON, in one run.
 */
import { encodePayload, type MetricInput } from "../sidecar/src/ingress/sparkplug/codec.js";
import { createSparkplugHost } from "../sidecar/src/ingress/sparkplug/host.js";
import { median, report } from "./lib.js";

const N = Number(process.env.BENCH_SPARKPLUG_MESSAGES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const METRICS: Array<Omit<MetricInput, "value"> & { name: string; alias: number }> = [
  { name: "Machine/State", alias: 1, datatype: "Int32" },
  { name: "Counters/Good", alias: 2, datatype: "UInt64" },
  { name: "Counters/Scrap", alias: 3, datatype: "UInt64" },
  { name: "Spindle/Temperature", alias: 4, datatype: "Float" },
  { name: "Spindle/Speed", alias: 5, datatype: "Double" },
  { name: "Door/Open", alias: 6, datatype: "Boolean" },
  { name: "Order/Current", alias: 7, datatype: "String" },
  { name: "Axis/X", alias: 8, datatype: "Double" },
  { name: "Axis/Y", alias: 9, datatype: "Double" },
  { name: "Alarm/Code", alias: 10, datatype: "Int16" },
];

function valueOf(name: string, i: number): number | boolean | string {
  if (name === "Door/Open") return i % 7 === 0;
  if (name === "Order/Current") return `WH/MO/${String(1 + (i % 50)).padStart(5, "0")}`;
  if (name.startsWith("Counters")) return 100_000 + i;
  return (i % 1000) / 10;
}

function messages(): { proto: Uint8Array[]; json: string[] } {
  const proto: Uint8Array[] = [];
  const json: string[] = [];
  const t = Date.now();
  for (let i = 0; i < 1000; i++) {
    const metrics = METRICS.map((m) => ({ ...m, timestamp: t + i, value: valueOf(m.name, i) }));
    proto.push(
      encodePayload({
        timestamp: t + i,
        seq: (i + 2) % 256,
        metrics: metrics.map(({ name: _name, ...aliasOnly }) => aliasOnly),
      }),
    );
    json.push(JSON.stringify({ timestamp: t + i, seq: (i + 2) % 256, metrics }));
  }
  return { proto, json };
}

function hostRate(proto: Uint8Array[]): number {
  const host = createSparkplugHost();
  const base = "spBv1.0/Plant1";
  host.process(
    `${base}/NBIRTH/Line7`,
    encodePayload({ seq: 0, metrics: [{ name: "bdSeq", datatype: "UInt64", value: 1 }] }),
    0,
  );
  host.process(
    `${base}/DBIRTH/Line7/Press1`,
    encodePayload({ seq: 1, metrics: METRICS.map((m) => ({ ...m, value: valueOf(m.name, 0) })) }),
    0,
  );
  const topic = `${base}/DDATA/Line7/Press1`;
  let named = 0;
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const outcome = host.process(topic, proto[i % proto.length]!, i);
    if (outcome.kind === "message") named += Object.keys(outcome.input.values).length;
  }
  const secs = (performance.now() - start) / 1000;
  if (named !== N * METRICS.length) throw new Error(`expected every metric named, got ${named}`);
  return N / secs;
}

function jsonRate(json: string[]): number {
  let metrics = 0;
  const start = performance.now();
  for (let i = 0; i < N; i++)
    metrics += (JSON.parse(json[i % json.length]!) as { metrics: unknown[] }).metrics.length;
  const secs = (performance.now() - start) / 1000;
  if (metrics !== N * METRICS.length) throw new Error("JSON baseline miscounted");
  return N / secs;
}

export async function run(): Promise<void> {
  const { proto, json } = messages();
  const decoded: number[] = [];
  const parsed: number[] = [];
  hostRate(proto); // warm up both
  jsonRate(json);
  for (let i = 0; i < ROUNDS; i++) {
    decoded.push(hostRate(proto));
    parsed.push(jsonRate(json));
  }
  report({
    name: "sparkplug-decode",
    unit: "messages/s",
    value: median(decoded),
    baseline: median(parsed),
    baselineName: "JSON.parse of the same message as JSON",
    params: {
      messages: N,
      rounds: ROUNDS,
      metricsPerMessage: METRICS.length,
      protobufBytes: Math.round(proto.reduce((n, p) => n + p.length, 0) / proto.length),
      jsonBytes: Math.round(json.reduce((n, p) => n + p.length, 0) / json.length),
      what: "decode + alias names + seq tracking + mapping input, one thread",
    },
  });
}
