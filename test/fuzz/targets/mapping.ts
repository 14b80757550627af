/**
 * Mapped topics and Sparkplug B: the mapping route and the Sparkplug route in front of one
 * mapping engine (JSONata worker pool, sequencer, aggregator) as main.ts wires them, on a real
 * ingestor and SQLite store, with a few mappings of each kind.
 */
import type { MqttRoute } from "../../../sidecar/src/contracts/mqtt.js";
import type { MappingConfig } from "../../../sidecar/src/contracts/site-config.js";
import { decodePayload, encodePayload } from "../../../sidecar/src/ingress/sparkplug/codec.js";
import { createSparkplugHost } from "../../../sidecar/src/ingress/sparkplug/host.js";
import { createSparkplugRoute } from "../../../sidecar/src/ingress/sparkplug/sparkplug-route.js";
import { createAggregator } from "../../../sidecar/src/pipeline/aggregation/aggregator.js";
import { defineMappings } from "../../../sidecar/src/pipeline/mapping/definition.js";
import { createMappingEngine } from "../../../sidecar/src/pipeline/mapping/engine.js";
import { createMappingRoute } from "../../../sidecar/src/pipeline/mapping/mapping-route.js";
import { createSampleRing } from "../../../sidecar/src/pipeline/mapping/samples.js";
import { startSandboxPool } from "../../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import { createSequencer } from "../../../sidecar/src/pipeline/mapping/sequencer.js";
import { createShadowLog } from "../../../sidecar/src/pipeline/mapping/shadow.js";
import { createEventChecker } from "../../../sidecar/src/canonical/parse.js";
import { PermanentError } from "../../../sidecar/src/errors.js";
import { createQuarantine } from "../../../sidecar/src/pipeline/quarantine.js";
import { at } from "../../helpers/samples.js";
import { randomName } from "../../helpers/services.js";
import { validId } from "../arbitraries.js";
import {
  isKnownOutcome,
  logger,
  missingOrDoubled,
  openFuzzStore,
  type FuzzStore,
  type FuzzTarget,
  type Saved,
} from "../harness.js";
import { loadBytes, saveBytes } from "./bytes.js";
import { publishPacket } from "./canonical.js";

/** Where a mapped message goes: one of the mappings' topics, or one no mapping selects. */
export const MAPPED_TOPICS = ["status", "counts", "raw", "unmapped"] as const;
export type MappedTopic = (typeof MAPPED_TOPICS)[number];

const STATUS = `{"type": "machine_status", "id": id, "workcenter": $machine,
  "status": $lookup({"RUN": "running", "STOP": "down", "IDLE": "idle"}, state),
  "occurredAt": $exists(at) ? at : "${at}"}`;
const COUNTS = `items.{"type": "production", "order": order, "quantity": qty, "occurredAt": "${at}"}`;
const RAW = `$ = "RUN" ? {"type": "machine_status", "workcenter": $machine, "status": "running",
  "occurredAt": "${at}"} : ($ = "STOP" ? {"type": "machine_status", "workcenter": $machine,
  "status": "down", "occurredAt": "${at}"})`;
const SPARKPLUG = `{"type": "machine_status", "id": values.id, "workcenter": device,
  "status": values.state, "occurredAt": "${at}"}`;

interface Rig {
  fz: FuzzStore;
  site: string;
  prefix: string;
  group: string;
  mapped: ReturnType<typeof createMappingRoute>;
  sparkplug: ReturnType<typeof createSparkplugRoute>;
  close(): Promise<void>;
}

async function openRig(): Promise<Rig> {
  const fz = await openFuzzStore();
  const site = randomName("fz");
  const prefix = randomName("fzm");
  const group = randomName("fzg");
  const pool = startSandboxPool({ logger, workers: 1 });
  const sequencer = createSequencer();
  const engine = createMappingEngine({
    ingestor: fz.ingestor,
    pool,
    aggregator: createAggregator({ store: fz.store }),
    check: createEventChecker(),
    sequencer,
    shadow: createShadowLog(),
    samples: createSampleRing({ minIntervalMs: 0 }),
    logger,
  });
  await engine.start();
  const config = (
    id: number,
    selector: string,
    expression: string,
    more: Partial<MappingConfig> = {},
  ): MappingConfig => ({
    id,
    name: `fuzz ${id}`,
    connector_id: null,
    event_type: "machine_status",
    key_expression: null,
    version: 1,
    state: "active",
    aggregation: null,
    selector,
    expression,
    ...more,
  });
  const { definitions, problems } = defineMappings(
    [
      config(1, `${prefix}/{site}/{machine}/status`, STATUS),
      config(2, `${prefix}/{site}/counts/#`, COUNTS, {
        event_type: "production",
        key_expression: `$string($event.order) & "-" & $string($index)`,
      }),
      config(3, `${prefix}/{site}/raw/{machine}`, RAW),
      config(4, `spBv1.0/${group}/DDATA/{edge}/{device}`, SPARKPLUG),
    ],
    { site, origin: "odoo", timezone: "UTC" },
  );
  if (problems.length) throw new Error(`mapping problems: ${JSON.stringify(problems)}`);
  engine.setMappings(`odoo:${site}`, definitions);
  const sparkplug = createSparkplugRoute({
    host: createSparkplugHost({ rebirthIntervalMs: 0 }),
    engine,
    ingestor: fz.ingestor,
    sequencer,
    logger,
    site,
    groups: [group],
    publish: () => undefined,
  });
  return {
    fz,
    site,
    prefix,
    group,
    mapped: createMappingRoute({ engine }),
    sparkplug,
    async close() {
      await engine.close();
      await pool.close();
      await fz.close();
    },
  };
}

/** Throws unless every outcome since the last call is within the contract. */
/**
 * A message through a route as the MQTT ingress hands it over: a refusal the route coded
 * (too_large, too_complex...) becomes that message's dead letter through the quarantine; any
 * other failure would be an `internal` dead letter in the sidecar, and is a finding here.
 */
async function throughIngress(
  fz: FuzzStore,
  site: string,
  route: MqttRoute,
  topic: string,
  payload: Buffer,
): Promise<void> {
  const attempt = () => route.handle(topic, payload, publishPacket(topic, payload));
  try {
    await attempt();
  } catch (err) {
    const ctx = route.context?.(topic) ?? { site, source: "mqtt" as const, origin: topic };
    await createQuarantine({ ingestor: fz.ingestor, logger })(ctx, payload, err, attempt);
    if (!(err instanceof PermanentError)) throw err;
  }
}

function checkOutcomes(fz: FuzzStore): void {
  const odd = fz.takeOutcomes().find((o) => !isKnownOutcome(o));
  if (odd) throw new Error(`outcome outside the contract: ${odd.status} ${odd.code}`);
}

async function expectKept(fz: FuzzStore, id: string): Promise<void> {
  const outcomes = fz.takeOutcomes().map((o) => `${o.eventId} ${o.status}`);
  if (outcomes.join() !== `${id} accepted`) throw new Error(`valid event: ${outcomes.join()}`);
}

export interface MappedInput {
  topic: MappedTopic;
  payload: string | Uint8Array;
}

/** The mapping route (JSON and text topics) with three mappings. */
export async function mappingTarget(): Promise<FuzzTarget<MappedInput>> {
  const rig = await openRig();
  const { fz, site, prefix } = rig;
  const topicOf = (t: MappedTopic) =>
    t === "status"
      ? `${prefix}/${site}/Drill 1/status`
      : t === "counts"
        ? `${prefix}/${site}/counts/line/1`
        : t === "raw"
          ? `${prefix}/${site}/raw/Drill 1`
          : `${prefix}/${site}/elsewhere`;
  const handle = (t: MappedTopic, payload: Buffer) =>
    throughIngress(fz, site, rig.mapped, topicOf(t), payload);
  const kept: string[] = [];
  return {
    name: "mapping",
    async feed({ topic, payload }) {
      await handle(topic, Buffer.from(payload));
      checkOutcomes(fz);
    },
    async feedValid(n) {
      const id = validId("mapping", n);
      kept.push(id);
      await handle("status", Buffer.from(JSON.stringify({ id, state: "RUN" })));
      await expectKept(fz, id);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: (i): Saved => ({ topic: i.topic, payload: saveBytes(i.payload) }),
    load: (s) => {
      const o = s as { topic: MappedTopic; payload: Saved };
      return { topic: o.topic, payload: loadBytes(o.payload) };
    },
    close: () => rig.close(),
  };
}

export const SPARKPLUG_TYPES = ["NBIRTH", "NDATA", "DBIRTH", "DDATA", "NDEATH", "DDEATH", "NCMD"];

export interface SparkplugInput {
  type: string;
  payload: Uint8Array;
}

/** The Sparkplug B route (host, mapping of DDATA) on one group, edge and device. */
export async function sparkplugTarget(): Promise<FuzzTarget<SparkplugInput>> {
  const rig = await openRig();
  const { fz, site, group } = rig;
  const topicOf = (type: string) =>
    type.startsWith("D")
      ? `spBv1.0/${group}/${type}/edge1/Drill 1`
      : `spBv1.0/${group}/${type}/edge1`;
  const handle = (type: string, payload: Buffer) =>
    throughIngress(fz, site, rig.sparkplug, topicOf(type), payload);
  const kept: string[] = [];
  return {
    name: "sparkplug-route",
    async feed({ type, payload }) {
      await handle(type, Buffer.from(payload));
      checkOutcomes(fz);
    },
    async feedValid(n) {
      const id = validId("sparkplug", n);
      kept.push(id);
      const payload = encodePayload({
        metrics: [
          { name: "id", datatype: "String", value: id },
          { name: "state", datatype: "String", value: "running" },
        ],
      });
      await handle("DDATA", Buffer.from(payload));
      await expectKept(fz, id);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: (i): Saved => ({ type: i.type, payload: saveBytes(i.payload) }),
    load: (s) => {
      const o = s as { type: string; payload: Saved };
      return { type: o.type, payload: loadBytes(o.payload) };
    },
    close: () => rig.close(),
  };
}

/**
 * The codec alone: `decodePayload` answers a payload or throws an Error (the host turns it into
 * an `invalid_protobuf` dead letter); what it answers must be JSON (mappings read it as such).
 */
export function sparkplugCodecTarget(): FuzzTarget<Uint8Array> {
  return {
    name: "sparkplug-codec",
    async feed(bytes) {
      let decoded: unknown;
      try {
        decoded = decodePayload(bytes);
      } catch (err) {
        if (err instanceof Error) return;
        throw new Error(`decodePayload threw a non-Error: ${String(err)}`, { cause: err });
      }
      JSON.stringify(decoded);
    },
    async feedValid(n) {
      const id = validId("codec", n);
      const decoded = decodePayload(
        encodePayload({ metrics: [{ name: "id", datatype: "String", value: id }] }),
      );
      if (decoded.metrics[0]?.value !== id) throw new Error("valid payload not decoded");
    },
    check: async () => [],
    save: saveBytes,
    load: loadBytes,
    close: async () => undefined,
  };
}
