/**
 * A simulated Sparkplug B edge node with real protobuf payloads: NDEATH as its MQTT will (with
 * its bdSeq), NBIRTH / DBIRTH with metric aliases, DDATA carrying aliases only, a counted `seq`
 * (that a test can make skip), and a rebirth when a host sends `Node Control/Rebirth`.
 */
import mqtt, { type MqttClient } from "mqtt";
import {
  decodePayload,
  encodePayload,
  type DataTypeName,
  type MetricInput,
} from "../../sidecar/src/ingress/sparkplug/codec.js";
import { randomName } from "./services.js";

export interface DeviceMetric {
  name: string;
  alias: number;
  datatype: DataTypeName;
  value: number | boolean | string;
}

export interface EdgeNode {
  group: string;
  edge: string;
  client: MqttClient;
  bdSeq: number;
  /** Rebirth requests this node received. */
  rebirthRequests: number;
  birth(): Promise<void>;
  deviceData(
    device: string,
    metrics: Array<Partial<MetricInput> & { alias: number }>,
    options?: { skipSeq?: number },
  ): Promise<void>;
  deviceDeath(device: string): Promise<void>;
  /** Publishes an NDEATH as the broker would for the will (also an old session's, by bdSeq). */
  nodeDeath(bdSeq?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEdgeNode(options: {
  url: string;
  group: string;
  edge?: string;
  devices: Record<string, DeviceMetric[]>;
  bdSeq?: number;
  /** 4 for the embedded broker (aedes speaks MQTT 3.1.1). @default 5 */
  protocolVersion?: 4 | 5;
}): Promise<EdgeNode> {
  const edge = options.edge ?? randomName("edge");
  const base = `spBv1.0/${options.group}`;
  const bdSeq = options.bdSeq ?? 0;
  let seq = 0;
  const next = () => {
    const s = seq;
    seq = (seq + 1) % 256;
    return s;
  };
  const death = (b: number) =>
    Buffer.from(
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: "bdSeq", datatype: "UInt64", value: b }],
      }),
    );
  const client = await mqtt.connectAsync(options.url, {
    clientId: randomName("edge"),
    protocolVersion: options.protocolVersion ?? 5,
    will: { topic: `${base}/NDEATH/${edge}`, payload: death(bdSeq), qos: 1, retain: false },
  });
  const node: EdgeNode = {
    group: options.group,
    edge,
    client,
    bdSeq,
    rebirthRequests: 0,
    async birth() {
      seq = 0;
      await client.publishAsync(
        `${base}/NBIRTH/${edge}`,
        Buffer.from(
          encodePayload({
            timestamp: Date.now(),
            seq: next(),
            metrics: [
              { name: "bdSeq", datatype: "UInt64", value: bdSeq },
              { name: "Node Control/Rebirth", datatype: "Boolean", value: false },
            ],
          }),
        ),
        { qos: 0 },
      );
      for (const [device, metrics] of Object.entries(options.devices)) {
        await client.publishAsync(
          `${base}/DBIRTH/${edge}/${device}`,
          Buffer.from(encodePayload({ timestamp: Date.now(), seq: next(), metrics })),
          { qos: 0 },
        );
      }
    },
    async deviceData(device, metrics, dataOptions = {}) {
      if (dataOptions.skipSeq) for (let i = 0; i < dataOptions.skipSeq; i++) next();
      await client.publishAsync(
        `${base}/DDATA/${edge}/${device}`,
        Buffer.from(
          encodePayload({
            timestamp: Date.now(),
            seq: next(),
            metrics: metrics.map(
              (m) => ({ datatype: "Int32", timestamp: Date.now(), ...m }) as MetricInput,
            ),
          }),
        ),
        { qos: 0 },
      );
    },
    async deviceDeath(device) {
      await client.publishAsync(
        `${base}/DDEATH/${edge}/${device}`,
        Buffer.from(encodePayload({ timestamp: Date.now(), seq: next(), metrics: [] })),
        { qos: 0 },
      );
    },
    async nodeDeath(b = bdSeq) {
      await client.publishAsync(`${base}/NDEATH/${edge}`, death(b), { qos: 1 });
    },
    async close() {
      await client.endAsync(true);
    },
  };
  await client.subscribeAsync(`${base}/NCMD/${edge}`, { qos: 0 });
  client.on("message", (_topic, payload) => {
    const rebirth = decodePayload(payload).metrics.find((m) => m.name === "Node Control/Rebirth");
    if (rebirth?.value === true) {
      node.rebirthRequests++;
      void node.birth();
    }
  });
  return node;
}
