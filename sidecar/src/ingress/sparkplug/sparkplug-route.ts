/**
 * The Sparkplug B host on the sidecar's MQTT connection: subscribes to `spBv1.0/<group>/#`,
 * decodes every message in arrival order (host.ts), asks edge nodes whose data a mapping uses
 * for a rebirth when it missed something, reports birth certificates (proposed machine ↔ work center bindings), and hands the
 * decoded messages to the mappings of Sparkplug topics — the same engine, sandbox, aggregation
 * and durable pipeline as JSON topics. A payload that does not decode is an `invalid_protobuf`
 * dead letter; it never stops the others.
 */
import type { Birth } from "../../contracts/sparkplug.js";
import type { SparkplugBinding } from "../../contracts/site-config.js";
import type { MqttRoute } from "../../contracts/mqtt.js";
import { createHash } from "node:crypto";
import { Counter, type Registry } from "prom-client";
import type { Rejection } from "../../canonical/parse.js";
import { PermanentError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import type { MappingEngine } from "../../pipeline/mapping/engine.js";
import { messageDigest } from "../../pipeline/mapping/mapper.js";
import type { Sequencer } from "../../pipeline/mapping/sequencer.js";
import { encodePayload } from "./codec.js";
import { SPARKPLUG_NAMESPACE, type SparkplugHost } from "./host.js";

export interface SparkplugRouteOptions {
  host: SparkplugHost;
  engine: MappingEngine;
  ingestor: Ingestor;
  sequencer: Sequencer;
  logger: Logger;
  /** Site of dead letters of payloads that do not decode. */
  site: string;
  /** Publishes a command (QoS 0): the Rebirth request. */
  publish: (topic: string, payload: Uint8Array) => void;
  /** Sparkplug groups to host. @default every group */
  groups?: string[];
  /** Confirmed bindings, looked up for `$workcenter`. */
  bindings?: () => readonly SparkplugBinding[];
  /** Called with each birth certificate (binding proposals for Odoo). */
  onBirth?: (birth: Birth) => void;
  registry?: Registry;
  /** @default Date.now */
  now?: () => number;
  /** Largest payload decoded; a larger one is a `too_large` dead letter. @default 262144 */
  maxMessageBytes?: number;
}

export function createSparkplugRoute(options: SparkplugRouteOptions): MqttRoute {
  const { host, engine, logger } = options;
  const now = options.now ?? Date.now;
  const registers = options.registry ? [options.registry] : [];
  const received = new Counter({
    name: "plant_bridge_sparkplug_messages_total",
    help: "Sparkplug B messages received, by message type (invalid: did not decode).",
    labelNames: ["type"],
    registers,
  });
  const rebirths = new Counter({
    name: "plant_bridge_sparkplug_rebirth_requests_total",
    help: "Rebirth requests sent to edge nodes (sequence gap, unknown node or alias).",
    registers,
  });

  function workcenterOf(group: string, edge: string, device: string | null): string | undefined {
    const list = options.bindings?.() ?? [];
    const find = (d: string | null) =>
      list.find((b) => b.group === group && b.edge === edge && b.device === d)?.workcenter;
    return (device !== null ? find(device) : undefined) ?? find(null);
  }

  function rebirth(group: string, edge: string, why: string): void {
    rebirths.inc();
    logger.info({ group, edge, why }, "Sparkplug: asking the edge node for a rebirth");
    const t = now();
    try {
      options.publish(
        `${SPARKPLUG_NAMESPACE}/${group}/NCMD/${edge}`,
        encodePayload({
          timestamp: t,
          metrics: [
            { name: "Node Control/Rebirth", timestamp: t, datatype: "Boolean", value: true },
          ],
        }),
      );
    } catch (err) {
      logger.warn({ err, group, edge }, "Sparkplug: could not send the rebirth request");
    }
  }

  /** Whether a mapping selects this node's data (this message, its NDATA or DDATA). */
  function usesNode(topic: string, group: string, edge: string, device: string | null): boolean {
    const base = `${SPARKPLUG_NAMESPACE}/${group}`;
    return [
      topic,
      `${base}/NDATA/${edge}`,
      ...(device ? [`${base}/DDATA/${edge}/${device}`] : []),
    ].some((t) => engine.selects(t, "sparkplug"));
  }

  function deadLetter(topic: string, payload: Buffer, message: string): Promise<void> {
    const rejection: Rejection = {
      site: options.site,
      code: "invalid_protobuf",
      message,
      payload: payload.toString("base64"),
      payloadEncoding: "base64",
      payloadSize: payload.length,
      source: "sparkplug",
      origin: topic,
      fingerprint: createHash("sha256")
        .update(`sparkplug\0${topic}\0${options.site}\0invalid_protobuf\0`)
        .update(payload)
        .digest("hex"),
    };
    return options.sequencer
      .run(undefined, () => ({
        committed: options.ingestor.ingest([{ kind: "reject", rejection }], {
          source: "sparkplug",
          origin: topic,
        }),
      }))
      .then(() => undefined);
  }

  return {
    name: "sparkplug",
    filters: (options.groups ?? ["+"]).map((group) => ({
      filter: `${SPARKPLUG_NAMESPACE}/${group}/#`,
      qos: 1 as const,
    })),
    context: (topic) => ({ site: options.site, source: "sparkplug", origin: topic }),
    handle(topic, payload) {
      const receivedAt = now();
      const maxBytes = options.maxMessageBytes ?? 256 * 1024;
      // Refused before decoding: protobuf would allocate for whatever the payload declares.
      if (payload.length > maxBytes)
        throw new PermanentError(
          "too_large",
          `Sparkplug payload of ${payload.length} bytes exceeds the limit of ${maxBytes}`,
        );
      const outcome = host.process(topic, payload, receivedAt);
      if (outcome.kind === "ignored") return Promise.resolve();
      if (outcome.kind === "invalid") {
        received.inc({ type: "invalid" });
        return deadLetter(topic, payload, outcome.message);
      }
      const { input } = outcome;
      received.inc({ type: input.messageType });
      // Only a host that uses the node's data commands it: a sidecar without a mapping of these
      // topics watches (births, samples) and leaves the node alone.
      if (outcome.rebirth && usesNode(topic, input.group, input.edge, input.device))
        rebirth(input.group, input.edge, outcome.rebirth);
      if (outcome.birth) options.onBirth?.(outcome.birth);
      const salt = String(input.bdSeq ?? "");
      const workcenter = workcenterOf(input.group, input.edge, input.device);
      return engine.handle({
        topic,
        source: "sparkplug",
        input: { kind: "value", value: input },
        // Dead letters and samples keep the decoded message: readable, and what mappings read.
        payload: Buffer.from(JSON.stringify(input)),
        digest: messageDigest(topic, payload, salt),
        receivedAt,
        bindings: {
          group: input.group,
          edge: input.edge,
          device: input.device,
          ...(workcenter !== undefined && { workcenter }),
        },
      });
    },
  };
}
