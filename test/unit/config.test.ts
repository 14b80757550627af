import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigValidationError, describeConfig, loadConfig } from "../../sidecar/src/config.js";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("has the contract's defaults: embedded broker, SQLite, Odoo offline", () => {
    const c = loadConfig({});
    expect(c.odoo).toBeUndefined();
    expect(c.mqtt.url).toBeUndefined();
    expect(c.mqtt.embeddedPort).toBe(1883);
    expect(c.store).toBe("./data/plant-bridge.db");
    expect(c.http.port).toBe(4000);
    expect(c.site).toBe("main");
    expect(c.sites).toEqual(["main"]);
    expect(c.adminToken).toBeUndefined();
  });

  it("allows no cross-origin browser by default, and exactly the origins listed", () => {
    expect(loadConfig({}).http.corsOrigins).toEqual([]);
    expect(
      loadConfig({
        PLANT_BRIDGE_CORS_ORIGINS: "https://odoo.example.com, http://10.0.0.5:8069",
      }).http.corsOrigins,
    ).toEqual(["https://odoo.example.com", "http://10.0.0.5:8069"]);
    expect(problems({ PLANT_BRIDGE_CORS_ORIGINS: "*" })[0]).toMatch(/^PLANT_BRIDGE_CORS_ORIGINS: /);
    expect(problems({ PLANT_BRIDGE_CORS_ORIGINS: "https://x.example/path" })[0]).toMatch(
      /^PLANT_BRIDGE_CORS_ORIGINS: /,
    );
  });

  it("declares an environment to Odoo only when told, lower-cased", () => {
    const odoo = {
      PLANT_BRIDGE_ODOO_URL: "http://odoo:8069",
      PLANT_BRIDGE_ODOO_DB: "prod",
      PLANT_BRIDGE_ODOO_API_KEY: "k".repeat(40),
    };
    expect(loadConfig(odoo).odoo?.environment).toBeUndefined();
    expect(loadConfig({ ...odoo, PLANT_BRIDGE_ENVIRONMENT: "Production" }).odoo?.environment).toBe(
      "production",
    );
    expect(problems({ ...odoo, PLANT_BRIDGE_ENVIRONMENT: "prod uction" })[0]).toMatch(
      /^PLANT_BRIDGE_ENVIRONMENT: /,
    );
  });

  it("names the bad variable in the message", () => {
    expect(problems({ PLANT_BRIDGE_HTTP_PORT: "http" })).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_HTTP_PORT: .*\(got "http"\)$/),
    ]);
    expect(problems({ PLANT_BRIDGE_MQTT_URL: "ftp://x" })[0]).toMatch(/^PLANT_BRIDGE_MQTT_URL: /);
    expect(problems({ PLANT_BRIDGE_SITE: "bad site!" })[0]).toMatch(/^PLANT_BRIDGE_SITE: /);
    expect(problems({ PLANT_BRIDGE_ODOO_URL: "http://odoo:8069" }).sort()).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_ODOO_API_KEY: required/),
      expect.stringMatching(/^PLANT_BRIDGE_ODOO_DB: required/),
    ]);
  });

  it("never echoes a secret, in errors or in what is logged", () => {
    const p = problems({ PLANT_BRIDGE_ADMIN_TOKEN: "short-secret" });
    expect(p[0]).toMatch(/^PLANT_BRIDGE_ADMIN_TOKEN: /);
    expect(p.join()).not.toContain("short-secret");
    const w = problems({ PLANT_BRIDGE_WEBHOOK_SECRET: "short-webhook-secret" });
    expect(w[0]).toMatch(/^PLANT_BRIDGE_WEBHOOK_SECRET: /);
    expect(w.join()).not.toContain("short-webhook-secret");
    expect(loadConfig({}).webhook).toEqual({ toleranceSeconds: 300 });
    const c = loadConfig({
      PLANT_BRIDGE_ODOO_URL: "http://odoo:8069/",
      PLANT_BRIDGE_ODOO_DB: "prod",
      PLANT_BRIDGE_ODOO_API_KEY: "0123456789abcdef-secret",
      PLANT_BRIDGE_ADMIN_TOKEN: "admin-token-0123456789",
      PLANT_BRIDGE_STORE: "postgres://bridge:pgsecret@db/bridge",
      PLANT_BRIDGE_MQTT_PASSWORD: "mqttsecret",
      PLANT_BRIDGE_WEBHOOK_SECRET: "webhook-secret-0123456789abcdef0123",
    });
    expect(c.webhook).toEqual({
      secret: "webhook-secret-0123456789abcdef0123",
      toleranceSeconds: 300,
    });
    expect(c.odoo).toEqual({
      url: "http://odoo:8069",
      db: "prod",
      apiKey: "0123456789abcdef-secret",
      timeoutMs: 120000,
    });
    const logged = JSON.stringify(describeConfig(c));
    for (const secret of [
      "0123456789abcdef-secret",
      "admin-token-0123456789",
      "pgsecret",
      "mqttsecret",
      "webhook-secret-0123456789abcdef0123",
    ]) {
      expect(logged).not.toContain(secret);
    }
  });

  it("reads one webhook secret per site or source, and never echoes them", () => {
    const a = "site-a-secret-0123456789abcdef012345";
    const mes = "mes-source-secret-0123456789abcdef01";
    const c = loadConfig({ PLANT_BRIDGE_WEBHOOK_SECRETS: `main=${a}, main/mes=${mes}` });
    expect(c.webhook).toEqual({ secrets: { main: a, "main/mes": mes }, toleranceSeconds: 300 });
    const logged = JSON.stringify(describeConfig(c));
    expect(logged).not.toContain(a);
    expect(logged).not.toContain(mes);
    const p = problems({ PLANT_BRIDGE_WEBHOOK_SECRETS: "main=too-short-secret" });
    expect(p[0]).toMatch(/^PLANT_BRIDGE_WEBHOOK_SECRETS: /);
    expect(p.join()).not.toContain("too-short-secret");
  });

  it("reads a config file whose settings the environment overrides", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-config-"));
    const file = join(dir, "plant-bridge.json");
    writeFileSync(
      file,
      JSON.stringify({ PLANT_BRIDGE_SITE: "plant2", PLANT_BRIDGE_HTTP_PORT: 4100 }),
    );
    expect(loadConfig({ PLANT_BRIDGE_CONFIG: file }).site).toBe("plant2");
    expect(loadConfig({ PLANT_BRIDGE_CONFIG: file }).http.port).toBe(4100);
    expect(loadConfig({ PLANT_BRIDGE_CONFIG: file, PLANT_BRIDGE_SITE: "plant3" }).site).toBe(
      "plant3",
    );
    writeFileSync(file, JSON.stringify({ PLANT_BRIDGE_NOPE: 1 }));
    expect(problems({ PLANT_BRIDGE_CONFIG: file })).toEqual([
      expect.stringMatching(/unknown key PLANT_BRIDGE_NOPE/),
    ]);
    expect(problems({ PLANT_BRIDGE_CONFIG: join(dir, "missing.json") })[0]).toMatch(
      /^PLANT_BRIDGE_CONFIG: cannot read/,
    );
  });

  it("subscribes to the default site first and to extra sites", () => {
    expect(loadConfig({ PLANT_BRIDGE_SITE: "a", PLANT_BRIDGE_SITES: "b,a,c" }).sites).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("speaks MQTT 5 or 3.1.1 as the broker allows unless told (auto)", () => {
    expect(loadConfig({}).mqtt.protocol).toBe("auto");
    expect(loadConfig({ PLANT_BRIDGE_MQTT_PROTOCOL: "3.1.1" }).mqtt.protocol).toBe(4);
    expect(loadConfig({ PLANT_BRIDGE_MQTT_PROTOCOL: "5" }).mqtt.protocol).toBe(5);
    expect(problems({ PLANT_BRIDGE_MQTT_PROTOCOL: "3" })[0]).toMatch(/^PLANT_BRIDGE_MQTT_PROTOCOL/);
  });

  it("takes broker TLS files that exist, a certificate with its key, over mqtts:// only", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-tls-conf-"));
    for (const f of ["ca.crt", "c.crt", "c.key"]) writeFileSync(join(dir, f), "PEM");
    const tls = {
      PLANT_BRIDGE_MQTT_URL: "mqtts://broker:8883",
      PLANT_BRIDGE_MQTT_CA: join(dir, "ca.crt"),
      PLANT_BRIDGE_MQTT_CERT: join(dir, "c.crt"),
      PLANT_BRIDGE_MQTT_KEY: join(dir, "c.key"),
    };
    expect(loadConfig(tls).mqtt.tls).toEqual({
      ca: tls.PLANT_BRIDGE_MQTT_CA,
      cert: tls.PLANT_BRIDGE_MQTT_CERT,
      key: tls.PLANT_BRIDGE_MQTT_KEY,
    });
    expect(problems({ ...tls, PLANT_BRIDGE_MQTT_CA: join(dir, "missing.crt") })).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_MQTT_CA: a readable PEM file/),
    ]);
    expect(problems({ ...tls, PLANT_BRIDGE_MQTT_KEY: "" })).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_MQTT_KEY: a client certificate needs both/),
    ]);
    expect(problems({ ...tls, PLANT_BRIDGE_MQTT_URL: "mqtt://broker:1883" })).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_MQTT_URL: .*mqtts:\/\//),
    ]);
  });

  it("an ingest group shares a session on an external broker", () => {
    expect(loadConfig({}).ingestGroup).toBeUndefined();
    expect(
      loadConfig({ PLANT_BRIDGE_INGEST_GROUP: "line-1", PLANT_BRIDGE_MQTT_URL: "mqtt://b:1883" })
        .ingestGroup,
    ).toBe("line-1");
    expect(problems({ PLANT_BRIDGE_INGEST_GROUP: "line-1" })).toEqual([
      expect.stringMatching(/^PLANT_BRIDGE_INGEST_GROUP: .*PLANT_BRIDGE_MQTT_URL/),
    ]);
    expect(
      problems({ PLANT_BRIDGE_INGEST_GROUP: "a b", PLANT_BRIDGE_MQTT_URL: "mqtt://b:1883" })[0],
    ).toMatch(/^PLANT_BRIDGE_INGEST_GROUP/);
  });
});
