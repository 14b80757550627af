/**
 * The Odoo client against a scripted HTTP server on loopback: protocol choice by /web/version
 * (JSON-2 on 19+, JSON-RPC execute_kw on 17/18), the headers and bodies each sends, and how every
 * HTTP outcome maps onto the error taxonomy (config / permanent / transient), with Odoo's error
 * body kept (name, message, arguments; not the traceback) and the API key never in a message.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import { createOdooClient } from "../../sidecar/src/odoo/client.js";

const KEY = "secret-api-key-0123456789";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

let server: http.Server;
let url: string;
let seen: Seen[] = [];
let handler: (req: Seen, res: ServerResponse) => void;
let client: OdooClient | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      const s: Seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  seen = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** An Odoo of the given major version whose model calls answer `answer`. */
function odoo(major: number, answer: (req: Seen, res: ServerResponse) => void) {
  handler = (req, res) => {
    if (req.url === "/web/version")
      return reply(res, 200, { version_info: [major, 0, 0, "final", 0, ""] });
    answer(req, res);
  };
}

async function failure(p: Promise<unknown>): Promise<PlantBridgeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlantBridgeError);
  expect((err as Error).message).not.toContain(KEY);
  return err as PlantBridgeError;
}

describe("Odoo 19+: JSON-2", () => {
  it("posts keyword arguments to /json/2/<model>/<method> with the bearer key and database", async () => {
    odoo(19, (req, res) => reply(res, 200, [{ id: "e1", status: "applied" }]));
    client = createOdooClient({ url: `${url}/`, db: "plant", apiKey: KEY });
    const answer = await client.call("plant_bridge.api", "post_events", { events: [{ id: "e1" }] });
    expect(answer).toEqual([{ id: "e1", status: "applied" }]);
    expect(client.protocol()).toBe("json2");
    const call = seen.find((s) => s.url.startsWith("/json/2/"))!;
    expect(call).toMatchObject({
      method: "POST",
      url: "/json/2/plant_bridge.api/post_events",
      body: { events: [{ id: "e1" }] },
    });
    expect(call.headers.authorization).toBe(`bearer ${KEY}`);
    expect(call.headers["x-odoo-database"]).toBe("plant");
    // /web/version is asked once
    await client.call("plant_bridge.api", "get_config", {});
    expect(seen.filter((s) => s.url === "/web/version")).toHaveLength(1);
  });

  it.each([
    [401, "config", "odoo_auth"],
    [403, "config", "odoo_forbidden"],
    [404, "permanent", "odoo_not_found"],
    [422, "permanent", "odoo_rejected"],
    [400, "permanent", "odoo_rejected"],
    [409, "transient", "odoo_unavailable"],
    [429, "transient", "odoo_unavailable"],
    [500, "transient", "odoo_unavailable"],
    [503, "transient", "odoo_unavailable"],
    [418, "unexpected", "unexpected"],
  ])("HTTP %i is a %s error (%s), Odoo's error body kept", async (status, kind, code) => {
    odoo(19, (req, res) =>
      reply(res, status, {
        name: "odoo.exceptions.UserError",
        message: "Unknown filter field(s): workCenter",
        arguments: ["Unknown filter field(s): workCenter"],
        debug: "Traceback (most recent call last): ...",
      }),
    );
    client = createOdooClient({ url, db: "plant", apiKey: KEY });
    const err = await failure(client.call("plant_bridge.api", "read_orders", {}));
    expect(err.kind).toBe(kind);
    expect(err.code).toBe(code);
    expect(err.message).toContain("plant_bridge.api.read_orders: Unknown filter field(s)");
    expect(err.detail).toEqual({
      status,
      name: "odoo.exceptions.UserError",
      message: "Unknown filter field(s): workCenter",
      arguments: ["Unknown filter field(s): workCenter"],
    });
  });

  it("keeps the start of a body that is not JSON (a proxy's error page)", async () => {
    odoo(19, (req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway</html>");
    });
    client = createOdooClient({ url, db: "plant", apiKey: KEY });
    const err = await failure(client.call("plant_bridge.api", "post_events", {}));
    expect([err.kind, err.code]).toEqual(["transient", "odoo_unavailable"]);
    expect(err.message).toContain("<html>Bad Gateway</html>");
  });

  it("a server that does not answer in time, or no server, is transient", async () => {
    odoo(19, () => undefined); // never answers
    client = createOdooClient({ url, db: "plant", apiKey: KEY, timeoutMs: 300 });
    const slow = await failure(client.call("plant_bridge.api", "post_events", {}));
    expect([slow.kind, slow.code]).toEqual(["transient", "odoo_unreachable"]);
    await client.close();

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    client = createOdooClient({ url: `http://127.0.0.1:${port}`, db: "plant", apiKey: KEY });
    const down = await failure(client.call("plant_bridge.api", "post_events", {}));
    expect([down.kind, down.code]).toEqual(["transient", "odoo_unreachable"]);
  });

  it("/web/version: 5xx is transient, anything else but 200 means it is not an Odoo", async () => {
    handler = (req, res) => reply(res, 503, {});
    client = createOdooClient({ url, db: "plant", apiKey: KEY });
    expect((await failure(client.version())).kind).toBe("transient");
    handler = (req, res) => reply(res, 404, {});
    const notOdoo = await failure(client.version());
    expect([notOdoo.kind, notOdoo.code]).toEqual(["config", "odoo_version"]);
    handler = (req, res) => reply(res, 200, { server_version: "19.0" });
    expect((await failure(client.version())).code).toBe("odoo_version");
  });
});

describe("Odoo 17/18: JSON-RPC", () => {
  type Rpc = { params: { service: string; method: string; args: unknown[] } };
  const rpcCalls = () =>
    seen.filter((s) => s.url === "/jsonrpc").map((s) => (s.body as Rpc).params);

  it("authenticates once with login + API key, then calls execute_kw with keyword arguments", async () => {
    odoo(17, (req, res) => {
      const { service, method } = (req.body as Rpc).params;
      if (service === "common" && method === "authenticate")
        return reply(res, 200, { jsonrpc: "2.0", id: 1, result: 7 });
      reply(res, 200, { jsonrpc: "2.0", id: 1, result: { revision: 3 } });
    });
    client = createOdooClient({ url, db: "plant", apiKey: KEY, login: "connector" });
    expect(await client.call("plant_bridge.api", "get_config", { site: "main" })).toEqual({
      revision: 3,
    });
    await client.call("plant_bridge.api", "get_config", { site: "main" });
    expect(client.protocol()).toBe("jsonrpc");
    expect(rpcCalls()).toEqual([
      { service: "common", method: "authenticate", args: ["plant", "connector", KEY, {}] },
      {
        service: "object",
        method: "execute_kw",
        args: ["plant", 7, KEY, "plant_bridge.api", "get_config", [], { site: "main" }],
      },
      {
        service: "object",
        method: "execute_kw",
        args: ["plant", 7, KEY, "plant_bridge.api", "get_config", [], { site: "main" }],
      },
    ]);
  });

  it("needs a login, and a refused login is a configuration error", async () => {
    odoo(18, (req, res) => reply(res, 200, { jsonrpc: "2.0", id: 1, result: false }));
    client = createOdooClient({ url, db: "plant", apiKey: KEY });
    expect((await failure(client.call("plant_bridge.api", "get_config", {}))).kind).toBe("config");
    expect(seen.filter((s) => s.url === "/jsonrpc")).toHaveLength(0);
    await client.close();
    client = createOdooClient({ url, db: "plant", apiKey: KEY, login: "connector" });
    const refused = await failure(client.call("plant_bridge.api", "get_config", {}));
    expect([refused.kind, refused.code]).toEqual(["config", "odoo_auth"]);
  });

  it.each([
    ["odoo.exceptions.AccessError", "config", "odoo_forbidden"],
    ["odoo.exceptions.AccessDenied", "config", "odoo_forbidden"],
    ["odoo.exceptions.MissingError", "permanent", "odoo_not_found"],
    ["odoo.exceptions.UserError", "permanent", "odoo_rejected"],
    ["odoo.exceptions.ValidationError", "permanent", "odoo_rejected"],
    ["psycopg2.errors.SerializationFailure", "transient", "odoo_unavailable"],
    ["builtins.KeyError", "transient", "odoo_unavailable"],
  ])("an RPC error %s is a %s error (%s)", async (name, kind, code) => {
    odoo(17, (req, res) => {
      const { method } = (req.body as Rpc).params;
      if (method === "authenticate") return reply(res, 200, { jsonrpc: "2.0", id: 1, result: 7 });
      reply(res, 200, {
        jsonrpc: "2.0",
        id: 1,
        error: { code: 200, message: "Odoo Server Error", data: { name, message: "nope" } },
      });
    });
    client = createOdooClient({ url, db: "plant", apiKey: KEY, login: "connector" });
    const err = await failure(client.call("plant_bridge.api", "post_events", {}));
    expect([err.kind, err.code]).toEqual([kind, code]);
    expect(err.message).toContain("object.execute_kw: nope");
  });
});
