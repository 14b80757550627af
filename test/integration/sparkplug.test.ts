/**
 * The Sparkplug B host on each test broker that carries Sparkplug topics, with a simulated edge node publishing real
 * protobuf payloads: births and alias-only data mapped to canonical events (the device bound to
 * a work center), a sequence gap answered by a Rebirth command seen on the broker, historical
 * data accepted in order, deaths (and a stale death ignored), undecodable payloads dead-lettered.
 */
import mqtt from "mqtt";
import { restoreDottedTopic } from "../../sidecar/src/canonical/topics.js";
import { decodePayload, encodePayload } from "../../sidecar/src/ingress/sparkplug/codec.js";
import type { MessageRow } from "../../sidecar/src/store/types.js";
import { availableBrokers, startBroker, type TestBroker } from "../helpers/brokers.js";
import { randomName } from "../helpers/services.js";
import { startEdgeNode, type EdgeNode } from "../helpers/sparkplug-edge.js";
import { mappingRig, waitFor, type MappingRig } from "../helpers/mapping-rig.js";

// NATS 2.9 refuses topics with a dot in a level, and Sparkplug's namespace is `spBv1.0`
// (docs/SCALE.md "Brokers"): the suite runs on the brokers that carry it.
const brokers = (await availableBrokers()).filter((b) => b !== "nats");

/** What an admin writes for a Sparkplug device: its state metric to machine_status. */
const STATE_EXPRESSION = `(
  $state := values."Machine/State";
  messageType = "DDEATH"
    ? {"workcenter": $workcenter, "status": "offline", "occurredAt": timestamp}
    : $exists($state)
      ? metrics[name = "Machine/State"].{
          "workcenter": $workcenter,
          "status": $lookup({"1": "running", "2": "idle", "3": "down"}, $string(value)),
          "occurredAt": timestamp,
          "attributes": {"historical": isHistorical, "edge": $edge}
        }
)`;

const DEVICE = [
  { name: "Machine/State", alias: 1, datatype: "Int32" as const, value: 2 },
  { name: "Counters/Good", alias: 2, datatype: "UInt64" as const, value: 1000 },
  { name: "Spindle/Temperature", alias: 3, datatype: "Float" as const, value: 41.5 },
];

describe.each(brokers)("Sparkplug B host on %s", (name) => {
  let broker: TestBroker;
  let r: MappingRig;
  let node: EdgeNode;
  beforeAll(async () => {
    broker = await startBroker(name);
  });
  afterAll(() => broker.stop());
  beforeEach(async () => {
    r = await mappingRig(broker.url);
    r.sparkplug.bindings.push({
      group: r.sparkplug.group,
      edge: "",
      device: "Press 1",
      workcenter: "Drill 1",
    });
    node = await startEdgeNode({
      url: broker.url,
      protocolVersion: broker.protocolVersion,
      group: r.sparkplug.group,
      devices: { "Press 1": DEVICE },
      bdSeq: 4,
    });
    r.sparkplug.bindings[0]!.edge = node.edge;
    await r.configure([
      {
        id: 11,
        name: "Press state",
        selector: `spBv1.0/${r.sparkplug.group}/+/{edge}/{device}`,
        expression: STATE_EXPRESSION,
      },
    ]);
  });
  afterEach(async () => {
    await node.close();
    await r.close();
  });

  const events = (n: number) =>
    waitFor(`${n} events`, async () => {
      const m = await r.store.listMessages({ site: r.site, limit: 200 });
      return m.length >= n ? m.sort((a, b) => a.seq - b.seq) : undefined;
    });
  const statusOf = (m: MessageRow) => (m.event as { status: string }).status;

  it("maps births and alias-only data, the device bound to its work center", async () => {
    await node.birth();
    await node.deviceData("Press 1", [
      { alias: 1, value: 1 },
      { alias: 3, datatype: "Float", value: 55.2 },
    ]);
    await node.deviceData("Press 1", [{ alias: 1, value: 3 }]);
    const rows = await events(3);
    expect(
      rows.map((m) => [
        m.event.type,
        statusOf(m),
        (m.event as { workcenter: string }).workcenter,
        m.source,
      ]),
    ).toEqual([
      ["machine_status", "idle", "Drill 1", "sparkplug"],
      ["machine_status", "running", "Drill 1", "sparkplug"],
      ["machine_status", "down", "Drill 1", "sparkplug"],
    ]);
    expect(rows[1]!.origin).toBe(`spBv1.0/${r.sparkplug.group}/DDATA/${node.edge}/Press 1#m11@v1`);
    // The birth certificates, proposed to Odoo as bindings.
    expect(
      r.sparkplug.births.map((b) => [
        b.edge,
        b.device,
        b.metrics.map((m) => `${m.name}:${m.datatype}`),
      ]),
    ).toEqual([
      [node.edge, null, ["bdSeq:UInt64", "Node Control/Rebirth:Boolean"]],
      [
        node.edge,
        "Press 1",
        ["Machine/State:Int32", "Counters/Good:UInt64", "Spindle/Temperature:Float"],
      ],
    ]);
    expect(node.rebirthRequests).toBe(0);
  });

  it("asks for a rebirth after a sequence gap; the command is on the broker and the node re-births", async () => {
    const observer = await mqtt.connectAsync(broker.url, {
      clientId: randomName("observer"),
      protocolVersion: broker.protocolVersion,
    });
    const commands: Array<{ topic: string; rebirth: unknown }> = [];
    await observer.subscribeAsync(`spBv1.0/${r.sparkplug.group}/NCMD/#`, { qos: 0 });
    observer.on("message", (topic, payload) => {
      const metric = decodePayload(payload).metrics.find((m) => m.name === "Node Control/Rebirth");
      // RabbitMQ 3.x hands the topic to other subscribers with its dot as a slash
      // (`spBv1/0/...`; docs/SCALE.md "Brokers"): compared as published.
      commands.push({ topic: restoreDottedTopic(["spBv1.0/#"], topic), rebirth: metric?.value });
    });
    try {
      await node.birth();
      await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
      await node.deviceData("Press 1", [{ alias: 1, value: 3 }], { skipSeq: 2 }); // two messages lost
      await waitFor("a rebirth command", async () => (commands.length ? true : undefined));
      expect(commands).toEqual([
        { topic: `spBv1.0/${r.sparkplug.group}/NCMD/${node.edge}`, rebirth: true },
      ]);
      await waitFor("the new birth", async () =>
        r.sparkplug.births.length >= 4 ? true : undefined,
      );
      await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
      const rows = await events(5);
      // The data after the gap is not dropped; the re-birth states the current value again.
      expect(rows.map(statusOf)).toEqual(["idle", "running", "down", "idle", "running"]);
      expect(node.rebirthRequests).toBe(1);
    } finally {
      await observer.endAsync();
    }
  });

  it("asks a node it never saw born for a rebirth", async () => {
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
    await waitFor("the rebirth", async () => (node.rebirthRequests > 0 ? true : undefined));
    const rows = await events(1); // the DBIRTH after the rebirth
    expect(statusOf(rows[0]!)).toBe("idle");
  });

  it("watches, without commanding, a node no mapping uses", async () => {
    await r.configure([]);
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]); // no birth seen
    await node.birth();
    await waitFor("the births", async () => (r.sparkplug.births.length === 2 ? true : undefined));
    await new Promise((res) => setTimeout(res, 300));
    expect(node.rebirthRequests).toBe(0);
    expect(r.samples.list({ selector: `spBv1.0/${r.sparkplug.group}/#` }).length).toBe(3);
  });

  it("accepts historical data in order, with its own timestamps", async () => {
    await node.birth();
    const t = Date.now() - 3_600_000;
    await node.deviceData("Press 1", [
      { alias: 1, value: 3, timestamp: t, isHistorical: true },
      { alias: 1, value: 1, timestamp: t + 60_000, isHistorical: true },
      { alias: 1, value: 2, timestamp: t + 120_000, isHistorical: true },
    ]);
    const rows = await events(4);
    expect(
      rows
        .slice(1)
        .map((m) => [
          statusOf(m),
          m.event.occurredAt,
          (m.event.attributes as { historical: boolean }).historical,
        ]),
    ).toEqual([
      ["down", new Date(t).toISOString(), true],
      ["running", new Date(t + 60_000).toISOString(), true],
      ["idle", new Date(t + 120_000).toISOString(), true],
    ]);
  });

  it("maps a device death; ignores the death certificate of an older session", async () => {
    await node.birth();
    await node.deviceDeath("Press 1");
    const rows = await events(2);
    expect(rows.map(statusOf)).toEqual(["idle", "offline"]);
    await node.nodeDeath(3); // bdSeq of an older session: the node stays online
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
    await events(3);
    expect(node.rebirthRequests).toBe(0);
    await node.nodeDeath(); // this session's: data after it asks for a rebirth
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
    await waitFor("the rebirth after the death", async () =>
      node.rebirthRequests > 0 ? true : undefined,
    );
  });

  it("dead-letters payloads that are not Sparkplug B and keeps the rest flowing", async () => {
    await node.birth();
    const garbage = Buffer.from("this is not protobuf, it is a string from a confused gateway");
    await node.client.publishAsync(
      `spBv1.0/${r.sparkplug.group}/DDATA/${node.edge}/Press 1`,
      garbage,
      { qos: 0 },
    );
    await node.client.publishAsync(
      `spBv1.0/${r.sparkplug.group}/DDATA/${node.edge}/Press 1`,
      // A valid payload cut short, as a broken link would deliver it.
      Buffer.from(
        encodePayload({ seq: 99, metrics: [{ alias: 1, datatype: "Int32", value: 1 }] }),
      ).subarray(0, 7),
      { qos: 0 },
    );
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
    await events(2);
    const dls = await waitFor("two dead letters", async () => {
      const d = await r.store.listDeadLetters({ site: r.site });
      return d.length === 2 ? d : undefined;
    });
    expect(dls.map((d) => [d.code, d.source, d.payloadEncoding])).toEqual([
      ["invalid_protobuf", "sparkplug", "base64"],
      ["invalid_protobuf", "sparkplug", "base64"],
    ]);
    expect(
      Buffer.from(dls.find((d) => d.payloadSize === garbage.length)!.payload, "base64"),
    ).toEqual(garbage);
  });

  it("refuses a payload over the size limit before decoding it: a too_large dead letter", async () => {
    await node.birth();
    const topic = `spBv1.0/${r.sparkplug.group}/DDATA/${node.edge}/Press 1`;
    await node.client.publishAsync(topic, Buffer.alloc(300 * 1024, 0x0a), { qos: 1 });
    await node.deviceData("Press 1", [{ alias: 1, value: 1 }]);
    await events(2);
    const dls = await waitFor("the dead letter", async () => {
      const d = await r.store.listDeadLetters({ site: r.site });
      return d.length ? d : undefined;
    });
    expect(dls.map((d) => [d.code, d.source, d.origin, d.payloadSize])).toEqual([
      ["too_large", "sparkplug", topic, 300 * 1024],
    ]);
  });
});
