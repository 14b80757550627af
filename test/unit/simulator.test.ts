/**
 * The plant simulator follows what Odoo releases on the site's command topic: it produces a
 * released order unit by unit (serials per unit, one lot per lot-tracked order), consumes its
 * components, finishes it at its quantity, stops on a cancellation and ignores commands it
 * cannot read. Over the embedded
 * broker (aedes) on a free port.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { CanonicalEvent } from "../../sidecar/src/canonical/types.js";
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
} from "../../sidecar/src/ingress/mqtt/embedded-broker.js";
import { canonicalTopic, commandTopic } from "../../sidecar/src/canonical/topics.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSimulator, type Simulator } from "../../sidecar/src/sim/simulator.js";
import { createEventValidator } from "../../sidecar/src/canonical/validate.js";
import { waitFor } from "../helpers/wait.js";

const logger = createLogger({ level: "silent" });
let broker: EmbeddedBroker;
let observer: MqttClient;
let simulator: Simulator | undefined;
const seen: CanonicalEvent[] = [];

beforeAll(async () => {
  // The observer plays the sidecar: only the sidecar's own client may publish commands.
  broker = await startEmbeddedBroker({
    port: 0,
    host: "127.0.0.1",
    sidecarClientIds: ["sim-test-observer"],
    logger,
  });
  observer = await mqtt.connectAsync(broker.url, {
    clientId: "sim-test-observer",
    ...broker.sidecarCredentials,
  });
  observer.on("message", (topic, payload) => {
    if (topic !== canonicalTopic("main")) return;
    const body = JSON.parse(payload.toString()) as CanonicalEvent | CanonicalEvent[];
    seen.push(...(Array.isArray(body) ? body : [body]));
  });
  await observer.subscribeAsync(canonicalTopic("main"), { qos: 1 });
});

afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

afterAll(async () => {
  await observer.endAsync();
  await broker.close();
});

const productionOf = (order: string) =>
  seen.filter(
    (e): e is Extract<CanonicalEvent, { type: "production" }> =>
      e.type === "production" && e.order === order,
  );

async function release(command: Record<string, unknown> | string) {
  await observer.publishAsync(
    commandTopic("main"),
    typeof command === "string" ? command : JSON.stringify(command),
    { qos: 1 },
  );
}

it("produces a released serial-tracked order unit by unit and finishes it at its quantity", async () => {
  simulator = await startSimulator({
    mqttUrl: broker.url,
    site: "main",
    machines: ["Drill 1"],
    rate: 400,
    logger,
  });
  expect(productionOf("WH/MO/00042")).toHaveLength(0);
  await release("{not json");
  await release({ type: "order_release", order: "WH/MO/00041", quantity: "lots" });
  await release({
    type: "order_release",
    site: "main",
    id: "order_release:WH/MO/00042:1",
    order: "WH/MO/00042",
    product: "FURN_9666",
    quantity: 3,
    tracking: "serial",
    components: [
      { product: "FURN_8522", quantity: 1.5, lots: ["TT001", "TT002"] },
      { product: "FURN_2333", quantity: 12, lots: [] },
      { product: 7, quantity: 1, lots: ["X"] },
      null,
    ],
  });
  const events = await waitFor("three production events", async () =>
    productionOf("WH/MO/00042").length >= 3 ? productionOf("WH/MO/00042") : undefined,
  );
  expect(events.map((e) => e.quantity)).toEqual([1, 1, 1]);
  expect(new Set(events.map((e) => e.lot)).size).toBe(3);
  expect(events.map((e) => e.finish ?? false)).toEqual([false, false, true]);
  // each unit's components before it, per unit: from the lot Odoo reserved, or without lot
  const order = seen.filter(
    (e) => (e.type === "production" || e.type === "consumption") && e.order === "WH/MO/00042",
  );
  expect(order.map((e) => e.type)).toEqual(
    Array(3).fill(["consumption", "consumption", "production"]).flat(),
  );
  const consumed = order.filter((e) => e.type === "consumption");
  expect(consumed.filter((e) => e.product === "FURN_8522")).toEqual(
    Array(3).fill(expect.objectContaining({ quantity: 0.5, lot: "TT001" })),
  );
  const legs = consumed.filter((e) => e.product === "FURN_2333");
  expect(legs.map((e) => [e.quantity, "lot" in e])).toEqual(Array(3).fill([4, false]));
  // finished: no more production for it, and none for the command it could not read
  const published = simulator.published;
  await waitFor("more simulated events", async () =>
    simulator!.published > published + 100 ? true : undefined,
  );
  expect(productionOf("WH/MO/00042")).toHaveLength(3);
  expect(productionOf("WH/MO/00041")).toHaveLength(0);
});

it("uses one lot for a lot-tracked order and stops producing an order Odoo cancels", async () => {
  simulator = await startSimulator({
    mqttUrl: broker.url,
    site: "main",
    machines: ["Assembly 1"],
    rate: 400,
    logger,
  });
  await release({ type: "order_release", order: "WH/MO/00050", quantity: 1000, tracking: "lot" });
  await waitFor("production of WH/MO/00050", async () =>
    productionOf("WH/MO/00050").length >= 2 ? true : undefined,
  );
  await release({ type: "order_cancel", order: "WH/MO/00050" });
  // once the cancellation is through (100 events later), the count stops growing
  const more = async (n: number) => {
    const from = simulator!.published;
    await waitFor("more simulated events", async () =>
      simulator!.published > from + n ? true : undefined,
    );
  };
  await more(100);
  const atCancel = productionOf("WH/MO/00050").length;
  await more(100);
  const events = productionOf("WH/MO/00050");
  expect(events).toHaveLength(atCancel);
  expect(new Set(events.map((e) => e.lot))).toEqual(new Set([events[0]!.lot]));
  expect(events[0]!.lot).toMatch(/^SIM-WH-MO-00050-/);
  expect(events.some((e) => e.finish)).toBe(false);
});

it("runs released operations through down / up cycles with a reason, and scraps: all valid events", async () => {
  const validate = createEventValidator();
  const from = seen.length;
  simulator = await startSimulator({
    mqttUrl: broker.url,
    site: "main",
    machines: ["Assembly 2"],
    rate: 400,
    logger,
  });
  await release({
    type: "order_release",
    order: "WH/MO/00060",
    quantity: 60,
    tracking: "none",
    operations: [
      // the first operation is the operators' (order-book.ts): the machine runs the others
      { name: "Elsewhere", workcenter: "Drill 1", state: "ready", sequence: 1 },
      { name: "Manual Assembly", workcenter: "Assembly 2", state: "ready", sequence: 2 },
      { name: "Done already", workcenter: "Assembly 2", state: "done", sequence: 3 },
    ],
  });
  const stream = await waitFor("the order finished", async () => {
    const mine = seen.slice(from);
    return mine.some((e) => e.type === "production" && e.order === "WH/MO/00060" && e.finish)
      ? mine
      : undefined;
  });
  for (const event of stream) expect(validate(event)).toMatchObject({ ok: true });
  // the machine's statuses (the operators' finish of their own operation carries their badge)
  const job = stream.filter(
    (e): e is Extract<CanonicalEvent, { type: "workorder_status" }> =>
      e.type === "workorder_status" && e.operator === undefined,
  );
  expect(new Set(job.map((e) => `${e.order} ${e.operation}`))).toEqual(
    new Set(["WH/MO/00060 Manual Assembly"]),
  );
  // started, (paused, started)*, finished: never two starts or two pauses in a row
  const statuses = job.map((e) => e.status).join(" ");
  expect(statuses).toMatch(/^started( paused started)* finished$/);
  expect(statuses).toContain("paused");
  // each pause is the machine stopping with a reason; its downtime comes back with that reason
  const machine = stream;
  const pause = machine.findIndex((e) => e.type === "workorder_status" && e.status === "paused");
  const stop = machine[pause + 1] as Extract<CanonicalEvent, { type: "machine_status" }>;
  expect(stop).toMatchObject({ type: "machine_status", workcenter: "Assembly 2" });
  expect(["down", "setup"]).toContain(stop.status);
  expect(stop.reason).toEqual(expect.any(String));
  const back = machine.findIndex(
    (e, i) => i > pause && e.type === "downtime" && e.workcenter === "Assembly 2",
  );
  expect(machine[back]).toMatchObject({ reason: stop.reason, start: stop.occurredAt });
  const end = (machine[back] as Extract<CanonicalEvent, { type: "downtime" }>).end;
  expect(machine[back + 1]).toMatchObject({
    type: "machine_status",
    status: "running",
    occurredAt: end,
  });
  expect(machine[back + 2]).toMatchObject({
    type: "workorder_status",
    status: "started",
    occurredAt: end,
  });
  // the work order ends before the order's finish, and scrap carries its reason
  const finished = machine.findIndex(
    (e) => e.type === "workorder_status" && e.status === "finished",
  );
  const finish = machine.findIndex((e) => e.type === "production" && e.finish);
  expect(finished).toBeLessThan(finish);
  expect(stream.find((e) => e.type === "scrap")).toMatchObject({ reason: "simulated defect" });
});

it("has operators set up, run and finish a released order's work order: valid labor events", async () => {
  simulator = await startSimulator({
    mqttUrl: broker.url,
    site: "main",
    machines: ["Assembly 1"],
    rate: 400,
    logger,
  });
  await release({
    type: "order_release",
    order: "WH/MO/00061",
    quantity: 2,
    tracking: "none",
    operations: [{ name: "Manual Assembly", workcenter: "Assembly 1", sequence: 1 }],
  });
  const finished = await waitFor("the work order's finish", async () =>
    seen.find((e) => e.type === "workorder_status" && e.order === "WH/MO/00061"),
  );
  const people = seen.filter(
    (e) => (e.type === "labor" || e.type === "workorder_status") && e.order === "WH/MO/00061",
  );
  const validate = createEventValidator();
  for (const event of people) expect(validate(event)).toMatchObject({ ok: true });
  // the machine on that work center does not run the operators' operation: no timer without them
  expect(people.map((e) => [e.type, "operator" in e && e.operator])).toEqual([
    ["labor", "B-0001"],
    ["labor", "B-0001"],
    ["labor", "B-0002"],
    ["workorder_status", "B-0001"],
  ]);
  expect(finished).toMatchObject({ operation: "Manual Assembly", status: "finished" });
});
