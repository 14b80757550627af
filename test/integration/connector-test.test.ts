/**
 * "Test connection" requests from Odoo run against real endpoints: the local Mosquitto and a
 * closed port, folders on disk (confined to the legacy roots), the local PostgreSQL and a database
 * that does not exist (without the password in the answer), and an HTTP server of the test. One
 * failing connector never keeps the others from being answered.
 */
import type { ConnectorConfig } from "../../sidecar/src/contracts/site-config.js";
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import {
  createConnectorTester,
  type ConnectorTesterOptions,
} from "../../sidecar/src/odoo/connector-test.js";
import { MQTT_TEST_URL, POSTGRES_ADMIN_URL, serviceAvailable } from "../helpers/services.js";
import { tempDir } from "../helpers/legacy-harness.js";

const mqttUp = await serviceAvailable("Mosquitto", "127.0.0.1", 1883);
const pgUp = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);

const FAKE_PASSWORD = "Fake-Passw0rd-4711";

function connector(id: number, kind: ConnectorConfig["kind"], params: object, secrets = {}) {
  return { id, name: `${kind} ${id}`, kind, active: true, params, secrets } as ConnectorConfig;
}

/** Runs one request per connector (ids in order) and returns the results in that order. */
async function test(
  connectors: ConnectorConfig[],
  extra: Partial<ConnectorTesterOptions> = {},
  ids = connectors.map((c) => c.id),
) {
  const tester = createConnectorTester({
    config: () => ({ revision: 7, connectors }),
    timeoutMs: 3000,
    outbound: { allowLoopback: true },
    ...extra,
  });
  const results = await tester.run(
    ids.map((id, n) => ({ test_id: 100 + n, connector_id: id, connector: `#${id}` })),
  );
  expect(results.map((r) => r.test_id)).toEqual(ids.map((_, n) => 100 + n));
  for (const r of results) expect(r.duration_ms).toBeGreaterThanOrEqual(0);
  return results;
}

/** A port on which nothing listens (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

(mqttUp ? describe : describe.skip)("MQTT connectors", () => {
  it("connects to the broker and reports the CONNACK time", async () => {
    const [r] = await test([connector(1, "mqtt", { url: MQTT_TEST_URL })]);
    expect(r).toMatchObject({ ok: true, message: expect.stringMatching(/^CONNACK in \d+ ms/) });
  });

  it("fails on a closed port with the refusal, never the password", async () => {
    const port = await closedPort();
    const [r] = await test([
      connector(
        2,
        "sink_mqtt",
        { host: "127.0.0.1", port },
        { username: "line7", password: FAKE_PASSWORD },
      ),
    ]);
    expect(r!.ok).toBe(false);
    expect(r!.message).toContain("ECONNREFUSED");
    expect(r!.message).toContain(`127.0.0.1:${port}`);
    expect(r!.message).not.toContain(FAKE_PASSWORD);
  });
});

it("tests the sidecar's own MQTT connection for an MQTT connector without a broker URL", async () => {
  const own = { connected: true };
  const [up] = await test([connector(3, "sink_mqtt", {})], { ownMqtt: () => own });
  expect(up).toMatchObject({ ok: true, message: expect.stringContaining("connection is up") });
  own.connected = false;
  const [down] = await test([connector(3, "sink_mqtt", {})], { ownMqtt: () => own });
  expect(down).toMatchObject({ ok: false, message: expect.stringContaining("connection is down") });
});

describe("file connectors", () => {
  it("accepts a readable folder and names a missing one", async () => {
    const root = tempDir("pb-conntest-");
    const drop = join(root, "drop");
    mkdirSync(drop);
    const [ok, missing] = await test(
      [
        connector(1, "file_drop", { path: drop, pattern: "*.csv" }),
        connector(2, "file_drop", { path: join(root, "missing") }),
      ],
      { roots: [root] },
    );
    expect(ok).toMatchObject({ ok: true, message: expect.stringContaining("readable") });
    expect(missing).toMatchObject({
      ok: false,
      message: expect.stringContaining("does not exist"),
    });
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses a folder outside the legacy roots, as the legacy code does", async () => {
    const root = tempDir("pb-conntest-");
    const outside = tempDir("pb-conntest-outside-");
    const [drop, sink] = await test(
      [connector(1, "file_drop", { path: outside }), connector(2, "sink_file", { path: outside })],
      { roots: [root] },
    );
    for (const r of [drop, sink]) {
      expect(r!.ok).toBe(false);
      expect(r!.message).toContain("outside PLANT_BRIDGE_LEGACY_ROOTS");
    }
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("accepts a sink folder that the sink will create in a writable parent", async () => {
    const root = tempDir("pb-conntest-");
    const [r] = await test([connector(1, "sink_file", { path: join(root, "releases") })], {
      roots: [root],
    });
    expect(r).toMatchObject({ ok: true, message: expect.stringContaining("does not exist yet") });
    rmSync(root, { recursive: true, force: true });
  });
});

(pgUp ? describe : describe.skip)("SQL connectors", () => {
  it("runs SELECT 1 on the database", async () => {
    const [source, sink] = await test([
      connector(1, "sql_source", { driver: "postgres", url: POSTGRES_ADMIN_URL, query: "x" }),
      connector(2, "sink_sql", { driver: "postgres", url: POSTGRES_ADMIN_URL, table: "t" }),
    ]);
    expect(source).toMatchObject({ ok: true, message: expect.stringMatching(/^SELECT 1 in/) });
    expect(sink!.ok).toBe(true);
  });

  it("fails on a database that does not exist without showing the password", async () => {
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = "/pb_no_such_database";
    const withPassword = new URL(url);
    withPassword.password = FAKE_PASSWORD;
    const [inUrl, inSecret] = await test([
      connector(1, "sql_source", { driver: "postgres" }, { url: withPassword.toString() }),
      connector(
        2,
        "sink_sql",
        { driver: "postgres", url: url.toString() },
        { password: FAKE_PASSWORD },
      ),
    ]);
    for (const r of [inUrl, inSecret]) {
      expect(r!.ok).toBe(false);
      expect(r!.message).toContain('"pb_no_such_database" does not exist');
      expect(r!.message).not.toContain(FAKE_PASSWORD);
    }
  });
});

describe("HTTP connectors", () => {
  let server: Server;
  let base: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      const path = req.url ?? "/";
      if (path === "/hang") return; // never answers
      if (path === "/broken") res.statusCode = 500;
      else if (path === "/post-only" && req.method !== "POST") res.statusCode = 405;
      else if (path === "/get-only" && req.method === "HEAD") res.statusCode = 405;
      else if (path === "/private" && req.headers.authorization !== `Bearer ${FAKE_PASSWORD}`)
        res.statusCode = 401;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers each connector, a failing one next to the others", async () => {
    const results = await test(
      [
        connector(1, "http_source", { url: `${base}/private` }, { bearer: FAKE_PASSWORD }),
        connector(2, "http_source", { url: `${base}/broken` }),
        connector(3, "http_source", { url: `${base}/get-only` }),
        connector(4, "sink_http", { url: `${base}/post-only` }),
        connector(5, "http_source", { url: `${base}/hang` }),
        connector(6, "http_source", { url: `${base}/private` }),
      ],
      { timeoutMs: 1000 },
      [1, 2, 3, 4, 5, 6, 99],
    );
    const [auth, broken, getOnly, postOnly, hang, unauthorized, unknown] = results;
    expect(auth).toMatchObject({ ok: true, message: expect.stringMatching(/^HEAD .*: 200 OK/) });
    expect(broken).toMatchObject({ ok: false, message: expect.stringContaining("500") });
    expect(getOnly).toMatchObject({ ok: true, message: expect.stringMatching(/^GET .*: 200/) });
    expect(postOnly).toMatchObject({ ok: true, message: expect.stringContaining("405") });
    expect(hang).toMatchObject({ ok: false, message: expect.stringContaining("within 1000 ms") });
    expect(unauthorized).toMatchObject({ ok: false, message: expect.stringContaining("401") });
    expect(unknown).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^unknown connector/),
    });
    for (const r of results) expect(r!.message).not.toContain(FAKE_PASSWORD);
    expect(seen.some((req) => req.headers.authorization === `Bearer ${FAKE_PASSWORD}`)).toBe(true);
  });
});
