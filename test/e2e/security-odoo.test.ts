/**
 * Security controls that need a real sidecar process on a real Odoo 19:
 * - the connector's Odoo API key rotates without a restart (SIGHUP, or Odoo refusing the current
 *   key), with every event applied exactly once and /readyz ready throughout;
 * - the secrets a sidecar is given never appear in its logs, its store or Odoo's rows.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt, { type MqttClient } from "mqtt";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { unseal } from "../../sidecar/src/odoo/sealed.js";
import { odooAvailable, startOdoo, type OdooServer } from "../helpers/odoo.js";
import { freePort, startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { randomName } from "../helpers/services.js";
import { waitFor as waitUntil } from "../helpers/wait.js";

const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000) =>
  waitUntil(what, fn, timeoutMs);

const run = odooAvailable();
const SITE = "main";
const LOGIN = "plant_bridge_sidecar"; // the service account scripts/odoo_pb_setup.py creates

let odoo: OdooServer;

interface Msg {
  key: string;
  state: string;
}

async function settled(keys: string[]): Promise<Msg[]> {
  return waitFor(`${keys.length} events settled in Odoo`, async () => {
    const rows = await odoo.admin<Msg[]>("plant_bridge.message", "search_read", {
      domain: [["key", "in", keys]],
      fields: ["key", "state"],
    });
    return rows.length === keys.length &&
      rows.every((r) => r.state === "applied" || r.state === "rejected")
      ? rows
      : undefined;
  });
}

function downtimes(prefix: string, day: string, n: number) {
  const workcenters = ["Drill 1", "Assembly 1", "Assembly 2"];
  return Array.from({ length: n }, (_, i) => {
    const start = new Date(`${day}T00:00:00Z`).getTime() + Math.floor(i / 3) * 60_000;
    return {
      id: `${prefix}-${i}`,
      type: "downtime",
      site: SITE,
      occurredAt: new Date(start + 30_000).toISOString(),
      workcenter: workcenters[i % 3]!,
      reason: "Equipment Failure",
      start: new Date(start).toISOString(),
      end: new Date(start + 30_000).toISOString(),
      description: prefix,
    };
  });
}

async function productivityCount(day: string): Promise<number> {
  return odoo.admin<number>("mrp.workcenter.productivity", "search_count", {
    domain: [
      ["date_start", ">=", `${day} 00:00:00`],
      ["date_start", "<", `${day} 23:59:59`],
    ],
  });
}

/** A new API key of the sidecar's service account, as Connect a Sidecar issues it. */
async function newKey(): Promise<string> {
  const out = await odoo.shell(
    [
      "from datetime import timedelta",
      "from odoo import fields",
      `user = env['res.users'].with_context(active_test=False).search([('login', '=', '${LOGIN}')])`,
      "key = env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'rotation', fields.Datetime.now() + timedelta(days=1))",
      "env.cr.commit()",
      "print('KEY=' + key)",
    ].join("\n"),
  );
  const key = /^KEY=(\S+)$/m.exec(out)?.[1];
  if (!key) throw new Error(`no key created:\n${out}`);
  return key;
}

/** Revoke Earlier Keys: every key of the service account but the newest. */
async function revokeEarlierKeys(): Promise<void> {
  await odoo.shell(
    [
      `keys = env['res.users.apikeys'].sudo().search([('user_id.login', '=', '${LOGIN}')], order='id desc')`,
      "keys[1:]._remove()",
      "env.cr.commit()",
    ].join("\n"),
  );
}

/** Replaces the configuration file at once (write aside, rename), as an operator should. */
function writeConfig(path: string, values: Record<string, string>): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(values, null, 2));
  renameSync(`${path}.tmp`, path);
}

(run ? describe : describe.skip)("security on a real Odoo 19", () => {
  beforeAll(async () => {
    odoo = await startOdoo();
  }, 900_000);

  afterAll(async () => {
    await odoo?.destroy();
  });

  test("the Odoo API key rotates without a restart: nothing lost, nothing doubled, ready throughout", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-rotate-"));
    const configFile = join(dir, "plant-bridge.json");
    const odooSettings = { PLANT_BRIDGE_ODOO_URL: odoo.url, PLANT_BRIDGE_ODOO_DB: odoo.db };
    writeConfig(configFile, { ...odooSettings, PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey });
    const mqttPort = await freePort();
    const sidecar = await startSidecarProcess({
      PLANT_BRIDGE_CONFIG: configFile,
      PLANT_BRIDGE_MQTT_PORT: String(mqttPort),
      PLANT_BRIDGE_SITE: SITE,
      PLANT_BRIDGE_NAME: randomName("rotate"),
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_POST_LINGER_MS: "50",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
      PLANT_BRIDGE_CONFIG_POLL_SECONDS: "2",
    });
    const notReady: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const r = await fetch(`http://127.0.0.1:${sidecar.httpPort}/readyz`, {
          signal: AbortSignal.timeout(5000),
        }).catch(() => undefined);
        if (r?.status !== 200) notReady.push(r?.status ?? 0);
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    const publisher: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      clientId: randomName("rotate-pub"),
    });
    const day = "2026-03-02";
    const before = await productivityCount(day);
    const all = downtimes("rot", day, 300);
    const publish = async (events: object[]) => {
      for (const e of events)
        await publisher.publishAsync(canonicalTopic(SITE), JSON.stringify(e), { qos: 1 });
    };
    try {
      // key A
      await publish(all.slice(0, 60));
      await settled(all.slice(0, 60).map((e) => e.id));

      // key B in the file, SIGHUP while events keep coming, then A revoked
      const keyB = await newKey();
      const during = publish(all.slice(60, 150));
      writeConfig(configFile, { ...odooSettings, PLANT_BRIDGE_ODOO_API_KEY: keyB });
      sidecar.child.kill("SIGHUP");
      await waitFor("the sidecar switched to key B", async () =>
        /Odoo API key changed/.test(sidecar.output()) ? true : undefined,
      );
      await during;
      await revokeEarlierKeys();
      await publish(all.slice(150, 200));
      await settled(all.slice(0, 200).map((e) => e.id));

      // key C in the file and B revoked at once, without a signal: the first 401 reads the file
      const keyC = await newKey();
      writeConfig(configFile, { ...odooSettings, PLANT_BRIDGE_ODOO_API_KEY: keyC });
      await revokeEarlierKeys();
      await publish(all.slice(200));
      const rows = await settled(all.map((e) => e.id));

      expect(rows.filter((r) => r.state === "applied")).toHaveLength(all.length);
      expect((await productivityCount(day)) - before).toBe(all.length);
      const log = sidecar.output();
      expect(log).toMatch(/"reason":"SIGHUP".*Odoo API key changed/);
      expect(log).toMatch(/"reason":"Odoo refused the API key".*Odoo API key changed/);
      expect(log).not.toMatch(/posting to Odoo paused/);
      expect(notReady).toEqual([]);

      // the cached configuration is sealed under the key in use (a restart finds it readable)
      await waitFor("the configuration cache sealed under key C", async () => {
        const db = new Database(join(dir, "store.db"), { readonly: true, fileMustExist: true });
        try {
          const row = db
            .prepare("SELECT value FROM kv WHERE key = ?")
            .get(`odoo.config.${SITE}`) as { value: string } | undefined;
          return row && unseal(row.value, keyC, `odoo.config.${SITE}`) !== undefined
            ? true
            : undefined;
        } finally {
          db.close();
        }
      });
      for (const k of [odoo.apiKey, keyB, keyC]) expect(log).not.toContain(k);
    } finally {
      watching = false;
      await watch;
      await publisher.endAsync();
      await sidecar.kill("SIGTERM");
    }
  }, 600_000);

  test("secrets given to the sidecar appear in none of its logs, its store or Odoo's rows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-secrets-"));
    const secrets = {
      odooApiKey: await newKey(), // its own: the rotation test revokes the earlier keys
      webhookSecret: `whsec-${randomName("s")}-0123456789abcdef0123456789`,
      brokerPassword: `brokerpw-${randomName("p")}-x9`,
      adminToken: `admintok-${randomName("t")}-0123456789`,
      sqlPassword: `sqlpw-${randomName("q")}-y7`,
    };
    const legacyFile = join(dir, "legacy.json");
    writeFileSync(
      legacyFile,
      JSON.stringify({
        connectors: [
          {
            id: 1,
            name: "MES log",
            kind: "sql_source",
            params: {
              driver: "postgres",
              host: "127.0.0.1",
              port: 5432,
              database: "postgres",
              user: "pb_no_such_role",
              query: "SELECT 1 AS id",
              watermarkColumn: "id",
              keyColumn: "id",
            },
            secrets: { password: secrets.sqlPassword },
          },
        ],
        schedules: [{ id: 1, name: "MES log", connector: 1, cron: "*/2 * * * * *" }],
      }),
    );
    const mqttPort = await freePort();
    const sidecar: SidecarProcess = await startSidecarProcess({
      PLANT_BRIDGE_ODOO_URL: odoo.url,
      PLANT_BRIDGE_ODOO_DB: odoo.db,
      PLANT_BRIDGE_ODOO_API_KEY: secrets.odooApiKey,
      PLANT_BRIDGE_WEBHOOK_SECRET: secrets.webhookSecret,
      PLANT_BRIDGE_MQTT_USERNAME: "plant",
      PLANT_BRIDGE_MQTT_PASSWORD: secrets.brokerPassword,
      PLANT_BRIDGE_MQTT_PORT: String(mqttPort),
      PLANT_BRIDGE_ADMIN_TOKEN: secrets.adminToken,
      PLANT_BRIDGE_LEGACY: legacyFile,
      PLANT_BRIDGE_SITE: SITE,
      PLANT_BRIDGE_NAME: randomName("secrets"),
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_POST_LINGER_MS: "50",
      PLANT_BRIDGE_HEARTBEAT_SECONDS: "2",
      PLANT_BRIDGE_LOG_LEVEL: "trace",
    });
    const base = `http://127.0.0.1:${sidecar.httpPort}`;
    try {
      // posting, and a post Odoo refuses (an unknown work center)
      const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        clientId: randomName("secrets-pub"),
        username: "plant",
        password: secrets.brokerPassword,
      });
      const good = downtimes("sec", "2026-03-03", 6);
      const refused = { ...downtimes("sec-bad", "2026-03-03", 1)[0]!, workcenter: "No Such WC" };
      for (const e of [...good, refused])
        await publisher.publishAsync(canonicalTopic(SITE), JSON.stringify(e), { qos: 1 });
      await publisher.endAsync();
      // a wrong broker password is refused
      await expect(
        mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          clientId: randomName("secrets-bad"),
          username: "plant",
          password: `${secrets.brokerPassword}-wrong`,
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow();
      const rows = await settled([...good, refused].map((e) => e.id));
      expect(rows.find((r) => r.key === refused.id)?.state).toBe("rejected");

      // a webhook with a bad signature, one signed with the secret
      const body = JSON.stringify({ ...downtimes("sec-wh", "2026-03-03", 1)[0]!, id: "sec-wh-1" });
      const ts = String(Math.floor(Date.now() / 1000));
      const bad = await fetch(`${base}/webhooks/${SITE}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-plant-bridge-timestamp": ts,
          "x-plant-bridge-signature": `sha256=${"0".repeat(64)}`,
        },
        body,
      });
      expect(bad.status).toBe(401);
      const sig = createHmac("sha256", secrets.webhookSecret).update(`${ts}.${body}`).digest("hex");
      const ok = await fetch(`${base}/webhooks/${SITE}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-plant-bridge-timestamp": ts,
          "x-plant-bridge-signature": `sha256=${sig}`,
        },
        body,
      });
      expect(ok.status).toBe(202);
      await settled(["sec-wh-1"]);

      // the API with the token, and with a wrong one
      const q = JSON.stringify({ query: "{ sidecar { sites { site pending deadLetters } } }" });
      const withToken = await fetch(`${base}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${secrets.adminToken}`,
        },
        body: q,
      });
      expect(withToken.status).toBe(200);
      const wrong = await fetch(`${base}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${secrets.adminToken}x`,
        },
        body: q,
      });
      expect(wrong.status).toBe(401);

      // the schedule run fails (the legacy database refuses the login) and is logged
      await waitFor("a failed schedule run", async () =>
        /pb_no_such_role/.test(sidecar.output()) ? true : undefined,
      );
    } finally {
      await sidecar.kill("SIGTERM");
    }

    // what the sidecar wrote: stdout + stderr, and every file of its store (SQLite, WAL)
    const places: Record<string, string> = { "sidecar output": sidecar.output() };
    for (const f of readdirSync(dir).filter((f) => f.startsWith("store.db")))
      places[`store file ${f}`] = readFileSync(join(dir, f)).toString("latin1");
    // Odoo's rows: every stored Plant Bridge model, messages' chatter and server logs
    places["odoo rows"] = await odoo.shell(
      [
        "import json",
        "out = []",
        "for name, model in env.registry.items():",
        "    if not (name.startswith('plant_bridge') or name in ('mail.message', 'ir.logging')):",
        "        continue",
        "    if model._abstract or model._transient or not model._auto:",
        "        continue",
        "    fields = [f for f, d in model._fields.items() if d.store and d.type not in ('binary',)]",
        "    rows = env[name].sudo().with_context(active_test=False).search_read([], fields)",
        "    out.append(name + ' ' + json.dumps(rows, default=str))",
        "print('\\n'.join(out))",
      ].join("\n"),
    );
    expect(places["odoo rows"]).toContain("sec-bad-0"); // the rows were read
    expect(places["sidecar output"]).toContain("pb_no_such_role");
    const found = Object.entries(places).flatMap(([where, text]) =>
      Object.entries(secrets)
        .filter(([, value]) => text.includes(value))
        .map(([name]) => `${name} in ${where}`),
    );
    expect(found).toEqual([]);
  }, 600_000);
});
