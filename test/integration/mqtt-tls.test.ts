/**
 * TLS with client certificates to an external broker: a CA made here with openssl, a private
 * Mosquitto that requires a certificate signed by it, and the real sidecar process configured
 * with PLANT_BRIDGE_MQTT_CA/CERT/KEY. It ingests; with a certificate of another CA it is refused,
 * and says so in /readyz and its log.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { openStore } from "../../sidecar/src/store/index.js";
import { startMosquitto, type PrivateBroker } from "../helpers/mosquitto.js";
import { samples } from "../helpers/samples.js";
import { randomName, REQUIRE_SERVICES } from "../helpers/services.js";
import { startSidecarProcess } from "../helpers/sidecar-process.js";
import { waitFor } from "../helpers/wait.js";

const tools = ["openssl", "mosquitto"].filter((tool) => {
  try {
    execFileSync("which", [tool], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
});
if (tools.length && REQUIRE_SERVICES)
  throw new Error(`${tools.join(", ")} missing and PLANT_BRIDGE_REQUIRE_SERVICES=1: failing`);
if (tools.length) console.warn(`SKIPPED: ${tools.join(", ")} not installed`);

interface Pki {
  dir: string;
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** A client certificate signed by a CA the broker does not trust. */
  rogue: { cert: string; key: string };
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, a server certificate for 127.0.0.1, a client certificate, and a rogue one. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "pb-pki-"));
  const newCa = (name: string) =>
    openssl(
      dir,
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    );
  const issue = (name: string, by: string, ext?: string) => {
    openssl(
      dir,
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    );
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(join(dir, `${name}.ext`), ext);
      extArgs.push("-extfile", `${name}.ext`);
    }
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${by}.crt`,
      "-CAkey",
      `${by}.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${name}.crt`,
      ...extArgs,
    );
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  newCa("plant-ca");
  newCa("rogue-ca");
  return {
    dir,
    ca: join(dir, "plant-ca.crt"),
    server: issue("broker", "plant-ca", "subjectAltName=IP:127.0.0.1\n"),
    client: issue("sidecar", "plant-ca"),
    rogue: issue("intruder", "rogue-ca"),
  };
}

(tools.length ? describe.skip : describe)("TLS with client certificates to the broker", () => {
  let pki: Pki;
  let broker: PrivateBroker;
  beforeAll(async () => {
    pki = makePki();
    broker = await startMosquitto({
      tls: { cafile: pki.ca, certfile: pki.server.cert, keyfile: pki.server.key },
    });
  });
  afterAll(() => broker?.stop());

  const env = (cert: { cert: string; key: string }, site: string, store: string) => ({
    PLANT_BRIDGE_MQTT_URL: broker.url,
    PLANT_BRIDGE_MQTT_CA: pki.ca,
    PLANT_BRIDGE_MQTT_CERT: cert.cert,
    PLANT_BRIDGE_MQTT_KEY: cert.key,
    PLANT_BRIDGE_SITE: site,
    PLANT_BRIDGE_NAME: randomName("tls"),
    PLANT_BRIDGE_STORE: store,
    PLANT_BRIDGE_SPARKPLUG_GROUPS: "none",
  });

  it("ingests over mqtts:// with the plant CA's client certificate", async () => {
    const site = randomName("site");
    const store = join(mkdtempSync(join(tmpdir(), "pb-tls-")), "store.db");
    const sidecar = await startSidecarProcess(env(pki.client, site, store));
    try {
      const device = await mqtt.connectAsync(broker.url, {
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.client.cert),
        key: readFileSync(pki.client.key),
        reconnectPeriod: 0,
      });
      const event = { ...samples.scrap, site, id: `tls-${site}` };
      await device.publishAsync(canonicalTopic(site), JSON.stringify(event), { qos: 1 });
      await device.endAsync();
      // the metrics endpoint needs no token: received events are counted once committed
      await waitFor("the event received", async () => {
        const text = await (await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`)).text();
        return /plant_bridge_events_received_total\{[^}]*\} 1$/m.test(text) ? true : undefined;
      });
    } finally {
      expect(await sidecar.kill("SIGTERM")).toBe(0);
    }
    const s = await openStore(store);
    try {
      const rows = await s.listMessages({ site });
      expect(rows.map((m) => [m.eventId, m.source])).toEqual([[`tls-${site}`, "mqtt"]]);
    } finally {
      await s.close();
    }
  }, 120_000);

  it("is refused with a certificate of another CA, and reports it in /readyz", async () => {
    const store = join(mkdtempSync(join(tmpdir(), "pb-tls-")), "store.db");
    const sidecar = await startSidecarProcess(
      env(pki.rogue, randomName("site"), store),
      ["start"],
      "listening",
    );
    try {
      const body = await waitFor("the refusal reported", async () => {
        const r = await fetch(`http://127.0.0.1:${sidecar.httpPort}/readyz`);
        const b = (await r.json()) as { status: string; reasons: string[] };
        return r.status === 503 &&
          b.reasons.includes("MQTT not connected: ERR_SSL_TLSV1_ALERT_UNKNOWN_CA")
          ? b
          : undefined;
      });
      expect(body.status).toBe("not ready");
      expect(sidecar.output()).toContain('"msg":"MQTT error"');
      expect(sidecar.output()).not.toContain('"msg":"MQTT connected"');
    } finally {
      // never started (no broker session): a SIGTERM would wait out the 20 s shutdown guard
      await sidecar.kill("SIGKILL");
    }
  }, 120_000);
});
