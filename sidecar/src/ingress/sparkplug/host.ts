/**
 * The Sparkplug B host application's view of the plant: per edge node, its session (the bdSeq
 * of its NBIRTH), the message sequence, the metric definitions and aliases of its birth
 * certificates and of its devices' (DBIRTH), and whether node and devices are online.
 *
 * - Data metrics that carry only an alias get their name back from the birth certificate.
 * - `seq` runs 0..255 over every message of a node session (NBIRTH is 0); a gap, data from a
 *   node whose birth the host has not seen (it started later, or the node died), or an unknown
 *   alias ask for a Rebirth (at most one per node per `rebirthIntervalMs`): Sparkplug data
 *   travels at QoS 0, and a rebirth is how a host heals what it missed.
 * - An NDEATH counts only when its bdSeq is the current session's (an older session's death
 *   certificate, delivered late by the broker, must not take a re-born node offline).
 * - `is_historical` metrics (the node's store-and-forward after an outage) are passed on with
 *   their own timestamps, in arrival order.
 */
import type { Birth } from "../../contracts/sparkplug.js";
import {
  decodePayload,
  type DataTypeName,
  type MetricValue,
  type SparkplugMetric,
} from "./codec.js";

export const SPARKPLUG_NAMESPACE = "spBv1.0";

/**
 * Sparkplug B 3.0 primary host STATE: retained `{"online": bool, "timestamp": ms}` on
 * `spBv1.0/STATE/<host id>`, online on connect, offline as the will and on shutdown, both with
 * the timestamp of this run; edge nodes configured with this host id wait for it before their
 * births and re-birth when it comes back.
 */
export function sparkplugState(hostId: string, timestamp: number) {
  return {
    topic: `${SPARKPLUG_NAMESPACE}/STATE/${hostId}`,
    online: JSON.stringify({ online: true, timestamp }),
    offline: JSON.stringify({ online: false, timestamp }),
  };
}

export type MessageType =
  "NBIRTH" | "NDEATH" | "DBIRTH" | "DDEATH" | "NDATA" | "DDATA" | "NCMD" | "DCMD" | "STATE";

export interface SparkplugTopic {
  group: string;
  type: MessageType;
  edge: string;
  device: string | null;
}

const TYPES = new Set(["NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD"]);

/** `spBv1.0/<group>/<type>/<edge>[/<device>]`, or undefined (STATE and anything else). */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split("/");
  if (parts[0] !== SPARKPLUG_NAMESPACE || parts.length < 4 || parts.length > 5) return undefined;
  const [, group, type, edge, device] = parts as [
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (!TYPES.has(type) || !group || !edge) return undefined;
  if (type.startsWith("D") !== (device !== undefined) || device === "") return undefined;
  return { group, type: type as MessageType, edge, device: device ?? null };
}

/** What mappings of Sparkplug topics read. */
export interface SparkplugInput {
  group: string;
  edge: string;
  device: string | null;
  messageType: MessageType;
  timestamp: number | null;
  seq: number | null;
  bdSeq: number | null;
  metrics: SparkplugMetric[];
  /** The metrics by name (the last one of a name wins), for `values."Machine/State"`. */
  values: Record<string, MetricValue>;
}

export type HostOutcome =
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; message: string }
  | {
      kind: "message";
      input: SparkplugInput;
      /** Ask the edge node for a rebirth (NCMD Node Control/Rebirth), and why. */
      rebirth?: string;
      birth?: Birth;
    };

interface DeviceState {
  online: boolean;
  metrics: Map<string, DataTypeName | null>;
  birthAt: number;
}

interface NodeState {
  group: string;
  edge: string;
  online: boolean;
  bdSeq: number | null;
  seq: number | null;
  aliases: Map<number, { name: string; datatype: DataTypeName | null }>;
  metrics: Map<string, DataTypeName | null>;
  devices: Map<string, DeviceState>;
  birthAt: number | null;
  lastMessageAt: number;
  lastRebirthAt: number;
  gaps: number;
  rebirths: number;
}

export interface SparkplugHostOptions {
  /** @default 5000 */
  rebirthIntervalMs?: number;
  /** Most edge nodes tracked (the least recently heard is forgotten). @default 10000 */
  maxNodes?: number;
}

export interface SparkplugHost {
  /** Decodes and tracks one message (in arrival order). */
  process(topic: string, payload: Uint8Array, now: number): HostOutcome;
  /** Nodes and devices as the host knows them (for the API). */
  nodes(): unknown[];
}

export function createSparkplugHost(options: SparkplugHostOptions = {}): SparkplugHost {
  const rebirthIntervalMs = options.rebirthIntervalMs ?? 5000;
  const maxNodes = options.maxNodes ?? 10_000;
  const nodes = new Map<string, NodeState>();

  function nodeOf(t: SparkplugTopic, now: number): NodeState {
    const key = `${t.group}/${t.edge}`;
    let node = nodes.get(key);
    if (node) nodes.delete(key); // most recently heard last
    node ??= {
      group: t.group,
      edge: t.edge,
      online: false,
      bdSeq: null,
      seq: null,
      aliases: new Map(),
      metrics: new Map(),
      devices: new Map(),
      birthAt: null,
      lastMessageAt: now,
      lastRebirthAt: Number.NEGATIVE_INFINITY,
      gaps: 0,
      rebirths: 0,
    };
    node.lastMessageAt = now;
    nodes.set(key, node);
    if (nodes.size > maxNodes) nodes.delete(nodes.keys().next().value!);
    return node;
  }

  return {
    process(topic, bytes, now) {
      const t = parseSparkplugTopic(topic);
      if (!t) return { kind: "ignored", reason: "not a Sparkplug B edge topic" };
      if (t.type === "NCMD" || t.type === "DCMD") return { kind: "ignored", reason: "a command" };
      let payload;
      try {
        payload = decodePayload(bytes);
      } catch (err) {
        return { kind: "invalid", message: `not a Sparkplug B payload: ${(err as Error).message}` };
      }
      const node = nodeOf(t, now);
      let rebirth: string | undefined;
      const ask = (why: string) => {
        if (now - node.lastRebirthAt < rebirthIntervalMs) return;
        node.lastRebirthAt = now;
        node.rebirths++;
        rebirth = why;
      };
      const bdSeqOf = () => {
        const m = payload.metrics.find((x) => x.name === "bdSeq");
        return typeof m?.value === "number" ? m.value : null;
      };
      let birth: Birth | undefined;

      switch (t.type) {
        case "NBIRTH": {
          node.online = true;
          node.bdSeq = bdSeqOf();
          node.seq = payload.seq;
          node.birthAt = now;
          node.aliases.clear();
          node.metrics.clear();
          for (const d of node.devices.values()) d.online = false; // devices re-birth after it
          learn(node, payload.metrics, node.metrics);
          birth = {
            group: t.group,
            edge: t.edge,
            device: null,
            metrics: listOf(node.metrics),
            at: now,
          };
          break;
        }
        case "NDEATH": {
          const bdSeq = bdSeqOf();
          if (node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq)
            return {
              kind: "ignored",
              reason: `the death certificate of an older session (bdSeq ${bdSeq})`,
            };
          node.online = false;
          for (const d of node.devices.values()) d.online = false;
          break;
        }
        default: {
          if (!node.online)
            ask(
              node.birthAt === null ? "no birth certificate seen" : "data after the node's death",
            );
          else if (
            payload.seq !== null &&
            node.seq !== null &&
            payload.seq !== (node.seq + 1) % 256
          ) {
            node.gaps++;
            ask(`sequence gap: ${payload.seq} after ${node.seq}`);
          }
          if (payload.seq !== null) node.seq = payload.seq;
          if (t.type === "DBIRTH" && t.device) {
            const metrics = new Map<string, DataTypeName | null>();
            learn(node, payload.metrics, metrics);
            node.devices.set(t.device, { online: true, metrics, birthAt: now });
            birth = {
              group: t.group,
              edge: t.edge,
              device: t.device,
              metrics: listOf(metrics),
              at: now,
            };
          } else if (t.type === "DDEATH" && t.device) {
            const d = node.devices.get(t.device);
            if (d) d.online = false;
          }
        }
      }

      // Names back for metrics that carry only an alias.
      const metrics = payload.metrics.map((m) => {
        if (m.name !== null || m.alias === null) return m;
        const known = node.aliases.get(m.alias);
        if (!known) {
          ask(`unknown alias ${m.alias}`);
          return m;
        }
        return { ...m, name: known.name, datatype: m.datatype ?? known.datatype };
      });
      const values: Record<string, MetricValue> = {};
      for (const m of metrics)
        if (m.name !== null && !isForbidden(m.name)) values[m.name] = m.value;
      const input: SparkplugInput = {
        group: t.group,
        edge: t.edge,
        device: t.device,
        messageType: t.type,
        timestamp: payload.timestamp,
        seq: payload.seq,
        bdSeq: node.bdSeq,
        metrics,
        values,
      };
      return {
        kind: "message",
        input,
        ...(rebirth !== undefined && { rebirth }),
        ...(birth && { birth }),
      };
    },

    nodes() {
      return [...nodes.values()].map((n) => ({
        group: n.group,
        edge: n.edge,
        online: n.online,
        bdSeq: n.bdSeq,
        seq: n.seq,
        birthAt: n.birthAt === null ? null : new Date(n.birthAt).toISOString(),
        lastMessageAt: new Date(n.lastMessageAt).toISOString(),
        gaps: n.gaps,
        rebirthRequests: n.rebirths,
        metrics: listOf(n.metrics),
        devices: [...n.devices].map(([device, d]) => ({
          device,
          online: d.online,
          birthAt: new Date(d.birthAt).toISOString(),
          metrics: listOf(d.metrics),
        })),
      }));
    },
  };
}

/** Records a birth certificate's metric definitions and aliases. */
function learn(
  node: NodeState,
  metrics: SparkplugMetric[],
  into: Map<string, DataTypeName | null>,
): void {
  for (const m of metrics) {
    if (m.name === null) continue;
    into.set(m.name, m.datatype);
    if (m.alias !== null) node.aliases.set(m.alias, { name: m.name, datatype: m.datatype });
  }
}

function listOf(metrics: Map<string, DataTypeName | null>) {
  return [...metrics].map(([name, datatype]) => ({ name, datatype }));
}

function isForbidden(name: string): boolean {
  return name === "__proto__" || name === "constructor" || name === "prototype";
}
