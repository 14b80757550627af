/**
 * The Sparkplug B primary host STATE (`PLANT_BRIDGE_SPARKPLUG_HOST_ID`): a real sidecar process on
 * the local Mosquitto announces `spBv1.0/STATE/<id>` retained `{"online": true, "timestamp"}` when
 * it connects, `online: false` with the same timestamp when it shuts down, and — as the will the
 * broker publishes — when it is killed with SIGKILL. Edge nodes wait for this before their births.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { MQTT_TEST_URL, randomName, serviceAvailable } from "../helpers/services.js";
import { startSidecarProcess } from "../helpers/sidecar-process.js";
import { waitFor } from "../helpers/wait.js";

const up = await serviceAvailable("Mosquitto", "127.0.0.1", 1883);
const HOST_ID = randomName("pb-host").replace(/_/g, "-");
const TOPIC = `spBv1.0/STATE/${HOST_ID}`;

interface State {
  online: boolean;
  timestamp: number;
  retained: boolean;
}

let observer: MqttClient;
const states: State[] = [];

(up ? describe : describe.skip)("Sparkplug primary host STATE", () => {
  beforeAll(async () => {
    observer = await mqtt.connectAsync(MQTT_TEST_URL, { clientId: randomName("state-observer") });
    observer.on("message", (topic, payload, packet) => {
      if (topic !== TOPIC || payload.length === 0) return;
      states.push({ ...(JSON.parse(payload.toString()) as State), retained: packet.retain });
    });
    await observer.subscribeAsync(TOPIC, { qos: 1 });
  });

  afterAll(async () => {
    // clear the retained STATE this suite left on the shared broker
    await observer.publishAsync(TOPIC, "", { qos: 1, retain: true });
    await observer.endAsync();
  });

  const env = () => ({
    PLANT_BRIDGE_MQTT_URL: MQTT_TEST_URL,
    PLANT_BRIDGE_NAME: randomName("state"),
    PLANT_BRIDGE_STORE: join(mkdtempSync(join(tmpdir(), "pb-state-")), "store.db"),
    PLANT_BRIDGE_SPARKPLUG_HOST_ID: HOST_ID,
  });
  const next = (n: number) => waitFor(`STATE message ${n}`, async () => states[n - 1]);

  it("is online while the sidecar runs and offline, same timestamp, after a shutdown", async () => {
    const sidecar = await startSidecarProcess(env());
    const online = await next(1);
    expect(online).toMatchObject({ online: true });
    expect(Math.abs(Date.now() - online.timestamp)).toBeLessThan(120_000);
    expect(await sidecar.kill("SIGTERM")).toBe(0);
    expect(await next(2)).toMatchObject({ online: false, timestamp: online.timestamp });
    // retained: a client subscribing now (an edge node starting) is told the host is offline
    const late = await mqtt.connectAsync(MQTT_TEST_URL, { clientId: randomName("late") });
    const retained = new Promise<string>((resolve) =>
      late.on("message", (_t, payload) => resolve(payload.toString())),
    );
    await late.subscribeAsync(TOPIC, { qos: 1 });
    expect(JSON.parse(await retained)).toEqual({ online: false, timestamp: online.timestamp });
    await late.endAsync();
  });

  it("the broker announces it offline when the sidecar is killed (the will)", async () => {
    const sidecar = await startSidecarProcess(env());
    const online = await next(3);
    expect(online).toMatchObject({ online: true });
    await sidecar.kill("SIGKILL");
    expect(await next(4)).toMatchObject({ online: false, timestamp: online.timestamp });
  });
});
