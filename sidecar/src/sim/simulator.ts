import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import type { CanonicalEvent, MachineState } from "../canonical/types.js";
import type { Logger } from "../logger.js";
import { canonicalTopic, commandTopic } from "../canonical/topics.js";
import { createOrderBook } from "./order-book.js";
import { createWorkOrderBook } from "./work-orders.js";

export interface SimulatorOptions {
  /** Broker the simulated machines publish to. */
  mqttUrl: string;
  username?: string;
  password?: string;
  site: string;
  /** Work center names (Odoo's MRP demo has "Assembly 1", "Drill 1", "Assembly 2"). */
  machines: string[];
  /** Events per second over all machines. @default 2 */
  rate: number;
  /** MO names to report production against besides the released ones. @default [] */
  orders?: string[];
  /**
   * Follow the site's command topic: an `order_release` (or `order_change`) Odoo publishes
   * there is produced by the simulated machines, lot or serial numbers included, and finished
   * once its quantity is reached — or one unit short, leaving a backorder it then produces
   * (order-book.ts); an `order_cancel` or `order_done` stops it. @default true
   */
  followReleases?: boolean;
  /** Products scrapped now and then (internal references). @default ["FURN_8522"] */
  scrapProducts?: string[];
  logger: Logger;
  /** @default Math.random */
  random?: () => number;
}

export interface Simulator {
  /** Events published so far. */
  readonly published: number;
  stop(): Promise<void>;
}

interface Machine {
  name: string;
  state: MachineState;
  since: Date;
  reason: string | undefined;
  good: number;
  scrap: number;
}

const DOWN_REASONS = ["Equipment Failure", "Material Availability", "Setup and Adjustments"];

/**
 * A small plant: machines run, count parts, break down and come back, scrap now and then, and
 * report it all as canonical events over MQTT (QoS 1), the way a gateway would. Released orders
 * take turns at the hard cases: components before the unit, the unit before its components,
 * a finish one unit short that leaves a backorder (order-book.ts). A machine runs the released
 * operations on its work center (work-orders.ts): a down / up cycle pauses the work order,
 * reports the machine down with its reason, then the downtime with that reason and the machine
 * running again, and restarts the work order — the productive, reduced-speed and downtime logs
 * Odoo's OEE is made of.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const random = options.random ?? Math.random;
  const run = randomBytes(3).toString("hex");
  const machines: Machine[] = options.machines.map((name) => ({
    name,
    state: "running",
    since: new Date(),
    reason: undefined,
    good: 0,
    scrap: 0,
  }));
  const orders = createOrderBook({ run, random });
  const workOrders = createWorkOrderBook(options.machines);
  for (const name of options.orders ?? []) orders.add(name);
  const scrapProducts = options.scrapProducts ?? ["FURN_8522"];
  const topic = canonicalTopic(options.site);
  let seq = 0;
  let published = 0;
  const client: MqttClient = await mqtt.connectAsync(options.mqttUrl, {
    clientId: `plant-bridge-sim-${run}`,
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
    reconnectPeriod: 1000,
  });
  if (options.followReleases ?? true) {
    client.on("message", (_topic, payload) => followRelease(payload));
    await client.subscribeAsync(commandTopic(options.site), { qos: 1 });
  }

  /** Releases, changes, cancellations and closings from Odoo; anything unexpected is ignored. */
  function followRelease(payload: Buffer): void {
    let command: Record<string, unknown>;
    try {
      command = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
    } catch {
      return;
    }
    if (command && typeof command === "object" && orders.follow(command)) {
      const key = String(command.order);
      const order = orders.get(key);
      workOrders.follow(command, order?.reportAs ?? key, order?.operation);
      options.logger.debug(
        {
          type: command.type,
          order: command.order,
          story: orders.get(String(command.order))?.story,
        },
        "simulator: order command",
      );
    }
  }

  /** One unit of an order, as its story says (order-book.ts); its work orders end before its finish. */
  function produce(m: Machine): CanonicalEvent[] {
    // Operators do not clock on to (or finish) a work order on a work center whose machine is
    // down or in setup: Odoo refuses to start a work order on a blocked work center, as its
    // Start button does.
    const unit = orders.produce(
      (type) => base(type, m),
      (order) =>
        machines.find((x) => x.name === order.workcenter)?.state !== "down" &&
        machines.find((x) => x.name === order.workcenter)?.state !== "setup",
    );
    const finish = unit.findIndex((e) => e.type === "production" && e.finish);
    if (finish < 0) return unit;
    const ended = workOrders.finish(
      (unit[finish] as { order: string }).order,
      (name) => (type) => base(type, machines.find((x) => x.name === name) ?? m),
    );
    return [...unit.slice(0, finish), ...ended, ...unit.slice(finish)];
  }

  const base = (type: CanonicalEvent["type"], machine: Machine) => ({
    id: `sim-${run}-${machine.name.replace(/\W+/g, "_")}-${++seq}`,
    type,
    site: options.site,
    occurredAt: new Date().toISOString(),
  });

  function step(): CanonicalEvent[] {
    const m = machines[Math.floor(random() * machines.length)]!;
    const now = new Date();
    const out: CanonicalEvent[] = [];
    if (m.state === "running") {
      const roll = random();
      if (roll < 0.06) {
        m.state = roll < 0.03 ? "down" : "setup";
        m.reason =
          m.state === "down" ? DOWN_REASONS[Math.floor(random() * 2)]! : "Setup and Adjustments";
        m.since = now;
        out.push(...workOrders.stop(m.name, (type) => base(type, m)));
        out.push({
          ...base("machine_status", m),
          // the downtime reported when it ends starts exactly here
          occurredAt: now.toISOString(),
          type: "machine_status",
          workcenter: m.name,
          status: m.state,
          reason: m.reason,
        });
        return out;
      }
      out.push(...workOrders.run(m.name, (type) => base(type, m)));
      m.good += 1 + Math.floor(random() * 5);
      if (random() < 0.1) {
        m.scrap += 1;
        out.push({
          ...base("scrap", m),
          type: "scrap",
          product: scrapProducts[Math.floor(random() * scrapProducts.length)]!,
          quantity: 1,
          reason: "simulated defect",
        });
      }
      if (orders.size > 0 && random() < 0.2) {
        out.push(...produce(m));
      }
      out.push({
        ...base("machine_status", m),
        type: "machine_status",
        workcenter: m.name,
        status: "running",
        counters: { good: m.good, scrap: m.scrap },
      });
    } else if (random() < 0.3) {
      out.push({
        ...base("downtime", m),
        type: "downtime",
        workcenter: m.name,
        reason: m.reason ?? "Equipment Failure",
        start: m.since.toISOString(),
        end: now.toISOString(),
        description: `simulated ${m.state}`,
      });
      m.state = "running";
      m.reason = undefined;
      m.since = now;
      const at = { occurredAt: now.toISOString() };
      out.push({
        ...base("machine_status", m),
        ...at,
        type: "machine_status",
        workcenter: m.name,
        status: "running",
        counters: { good: m.good, scrap: m.scrap },
      });
      out.push(...workOrders.run(m.name, (type) => ({ ...base(type, m), ...at })));
    }
    return out;
  }

  // Ticks of at least 50 ms; each tick publishes the events due since the last one.
  const tickMs = Math.max(50, 1000 / options.rate);
  let due = 0;
  let publishing = Promise.resolve();
  const timer = setInterval(() => {
    due += (options.rate * tickMs) / 1000;
    const batch: CanonicalEvent[] = [];
    while (due >= 1) {
      due -= 1;
      batch.push(...step());
    }
    if (batch.length === 0) return;
    publishing = publishing
      .then(() =>
        client.publishAsync(topic, JSON.stringify(batch.length === 1 ? batch[0] : batch), {
          qos: 1,
        }),
      )
      .then(() => void (published += batch.length))
      .catch((err: unknown) => options.logger.warn({ err }, "simulator publish failed"));
  }, tickMs);
  options.logger.info(
    { machines: options.machines, rate: options.rate, topic },
    "plant simulator started",
  );

  return {
    get published() {
      return published;
    },
    async stop() {
      clearInterval(timer);
      await publishing;
      await client.endAsync();
    },
  };
}
