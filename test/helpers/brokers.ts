/**
 * The MQTT brokers the integration suites run against, one `describe` per broker:
 * Mosquitto (the machine's), RabbitMQ's MQTT plugin (the machine's RabbitMQ, MQTT listener on
 * 1884 because Mosquitto holds 1883) and NATS' MQTT gateway (a private nats-server with
 * JetStream, started on free ports from a config file of ours). `PLANT_BRIDGE_TEST_BROKERS`
 * selects them (comma-separated; default all three). A selected broker that is absent fails the
 * suite under CI (`PLANT_BRIDGE_REQUIRE_SERVICES=1`) and is skipped loudly elsewhere.
 */
import { spawn, type ChildProcess } from "node:child_process";
import mqtt from "mqtt";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./sidecar-process.js";
import { MQTT_TEST_URL, REQUIRE_SERVICES, serviceAvailable, tcpReachable } from "./services.js";

export type BrokerName = "mosquitto" | "rabbitmq" | "nats";

export interface TestBroker {
  name: BrokerName;
  url: string;
  /** The newest MQTT version the broker speaks (5, or 4 for 3.1.1). */
  protocolVersion: 4 | 5;
  /** What the sidecar sets `PLANT_BRIDGE_MQTT_PROTOCOL` to for it ("auto" would also work). */
  protocolSetting: "5" | "3.1.1";
  /** Whether Sparkplug B (`spBv1.0/...`, a dot in the first level) passes through. */
  sparkplug: boolean;
  stop(): Promise<void>;
}

export const RABBITMQ_MQTT_URL =
  process.env.PLANT_BRIDGE_TEST_RABBITMQ_MQTT_URL ?? "mqtt://guest:guest@127.0.0.1:1884";

const ALL: BrokerName[] = ["mosquitto", "rabbitmq", "nats"];

/** The brokers selected for this run. */
export function selectedBrokers(): BrokerName[] {
  const raw = process.env.PLANT_BRIDGE_TEST_BROKERS;
  if (!raw) return ALL;
  const names = raw.split(",").map((s) => s.trim().toLowerCase());
  for (const n of names)
    if (!ALL.includes(n as BrokerName))
      throw new Error(`PLANT_BRIDGE_TEST_BROKERS: unknown broker ${n} (${ALL.join(", ")})`);
  return names as BrokerName[];
}

/** Brokers of the selection that can run here (throws under CI when one is missing). */
export async function availableBrokers(): Promise<BrokerName[]> {
  const out: BrokerName[] = [];
  for (const name of selectedBrokers()) if (await brokerAvailable(name)) out.push(name);
  return out;
}

async function brokerAvailable(name: BrokerName): Promise<boolean> {
  if (name === "mosquitto") {
    const u = new URL(MQTT_TEST_URL);
    return serviceAvailable("Mosquitto", u.hostname, Number(u.port || 1883));
  }
  if (name === "rabbitmq") {
    const u = new URL(RABBITMQ_MQTT_URL);
    return serviceAvailable(
      "RabbitMQ's MQTT plugin (rabbitmq-plugins enable rabbitmq_mqtt, listener on 1884)",
      u.hostname,
      Number(u.port || 1883),
    );
  }
  const found = await new Promise<boolean>((resolve) => {
    const child = spawn("nats-server", ["--version"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
  if (found) return true;
  if (REQUIRE_SERVICES)
    throw new Error("nats-server is not installed and PLANT_BRIDGE_REQUIRE_SERVICES=1: failing");
  console.warn(
    "SKIPPED: nats-server is not installed (set PLANT_BRIDGE_REQUIRE_SERVICES=1 to fail)",
  );
  return false;
}

/** Connects to (or starts) one broker for a suite. */
export async function startBroker(name: BrokerName): Promise<TestBroker> {
  if (name === "mosquitto")
    return {
      name,
      url: MQTT_TEST_URL,
      protocolVersion: 5,
      protocolSetting: "5",
      sparkplug: true,
      stop: async () => undefined,
    };
  if (name === "rabbitmq")
    return {
      name,
      url: RABBITMQ_MQTT_URL,
      protocolVersion: 4,
      protocolSetting: "3.1.1",
      sparkplug: true,
      stop: async () => undefined,
    };
  return startNats();
}

/** A private NATS server with JetStream (which its MQTT gateway needs) and an MQTT listener. */
export async function startNats(): Promise<TestBroker> {
  const [port, mqttPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "pb-nats-"));
  const conf = join(dir, "nats.conf");
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${port}`,
      `server_name: pb_test_${port}`,
      `jetstream { store_dir: "${dir}/js" }`,
      // Unacknowledged QoS 1 messages come again after ack_wait (30 s by default), not on the
      // reconnect as with Mosquitto and RabbitMQ (docs/SCALE.md "Brokers").
      `mqtt { listen: 127.0.0.1:${mqttPort}, ack_wait: "10s" }`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("nats-server", ["-c", conf, "-l", join(dir, "nats.log")], {
    stdio: "ignore",
  });
  for (let i = 0; i < 200 && !(await tcpReachable("127.0.0.1", mqttPort)); i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: "nats",
    url: `mqtt://127.0.0.1:${mqttPort}`,
    protocolVersion: 4,
    protocolSetting: "3.1.1",
    sparkplug: false,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Ends a test's persistent session on the broker (a clean connect with its client id), so that
 * shared brokers keep no queue per test run (RabbitMQ: a durable queue per client id).
 */
export async function dropSession(url: string, clientId: string, protocolVersion: 4 | 5) {
  const c = await mqtt.connectAsync(url, {
    clientId,
    clean: true,
    protocolVersion,
    reconnectPeriod: 0,
  });
  await c.endAsync();
}
