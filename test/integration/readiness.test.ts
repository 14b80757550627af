/**
 * /readyz on a sidecar configured for an Odoo: not ready (503, with the reason) until the site's
 * configuration is loaded from Odoo, ready once it is; a restart while Odoo is unreachable is
 * ready on the configuration kept in the store. Odoo is a scripted JSON-2 server on loopback
 * (the real one is in test/e2e/sidecar-odoo.test.ts); MQTT is the embedded broker.
 */
import { mkdtempSync } from "node:fs";
import http, { type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { loadConfig } from "../../sidecar/src/config.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { startSidecar, type Sidecar } from "../../sidecar/src/main.js";
import { samples } from "../helpers/samples.js";
import { waitFor } from "../helpers/wait.js";

let odooUp = false;
let odoo: http.Server;
let odooUrl: string;
let sidecar: Sidecar | undefined;
const dir = mkdtempSync(join(tmpdir(), "pb-readiness-"));

const CONFIG = {
  changed: true,
  site: "main",
  revision: 5,
  site_info: { code: "main", name: "Main", timezone: "UTC", warehouse: "WH" },
  connectors: [],
  mappings: [],
  schedules: [],
  sor: {},
};

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  odoo = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/web/version")
        return reply(res, 200, { version_info: [19, 0, 0, "final", 0, ""] });
      if (!odooUp) return reply(res, 503, { message: "Service Unavailable" });
      const method = req.url!.split("/").pop();
      if (method === "get_config") return reply(res, 200, CONFIG);
      if (method === "fetch_outbound" || method === "fetch_token_hashes")
        return reply(res, 200, []);
      if (method === "post_events")
        return reply(res, 500, {
          name: "psycopg2.OperationalError",
          message: "connection to server at db-internal:5432 failed: password=hunter2-secret",
        });
      reply(res, 200, { ok: true });
    });
  });
  await new Promise<void>((r) => odoo.listen(0, "127.0.0.1", r));
  odooUrl = `http://127.0.0.1:${(odoo.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await sidecar?.stop();
  sidecar = undefined;
});

afterAll(async () => {
  odoo.closeAllConnections();
  await new Promise((r) => odoo.close(r));
});

async function start(): Promise<string> {
  const config = loadConfig({
    PLANT_BRIDGE_MQTT_PORT: "0",
    PLANT_BRIDGE_HTTP_PORT: "0",
    PLANT_BRIDGE_STORE: join(dir, "store.db"),
    PLANT_BRIDGE_ODOO_URL: odooUrl,
    PLANT_BRIDGE_ODOO_DB: "plant",
    PLANT_BRIDGE_ODOO_API_KEY: "readiness-test-key-0123456789",
    PLANT_BRIDGE_CONFIG_POLL_SECONDS: "1",
  });
  sidecar = await startSidecar({ config, logger: createLogger({ level: "silent" }) });
  return sidecar.http.url;
}

async function readyz(base: string) {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as { reasons: string[] } };
}

it("is not ready until the configuration is loaded from Odoo, then ready", async () => {
  odooUp = false;
  const base = await start();
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const before = await readyz(base);
  expect(before.status).toBe(503);
  expect(before.body.reasons).toContain("configuration not loaded from Odoo yet");
  odooUp = true;
  await waitFor("ready", async () => ((await readyz(base)).status === 200 ? true : undefined));
});

it("a restart while Odoo is unreachable is ready on the configuration kept in the store", async () => {
  odooUp = false;
  const base = await start();
  await waitFor("ready", async () => ((await readyz(base)).status === 200 ? true : undefined));
  expect((await readyz(base)).body.reasons).toEqual([]);
});

it("/healthz says that posting fails, never Odoo's error text", async () => {
  odooUp = true;
  const base = await start();
  const publisher = await mqtt.connectAsync(sidecar!.broker!.url, { protocolVersion: 4 });
  await publisher.publishAsync(
    "plant-bridge/v1/main/events",
    JSON.stringify({ ...samples.scrap, id: "health-1" }),
    { qos: 1 },
  );
  await publisher.endAsync();
  await waitFor("a failed posting", async () =>
    sidecar!.odoo!.worker.status().lastError?.includes("hunter2") ? true : undefined,
  );
  const health = await (await fetch(`${base}/healthz`)).text();
  expect(JSON.parse(health)).toMatchObject({ status: "ok", odooConfigured: true });
  expect(health).not.toMatch(/hunter2|db-internal|OperationalError/);
});
