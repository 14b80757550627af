/**
 * Server-side request forgery: URLs configured in Odoo (HTTP sources and sinks, Test Connection)
 * never reach link-local or metadata addresses, and loopback only when the sidecar allows it —
 * checked on the URL and again on what DNS answers at connection time.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import {
  checkOutboundUrl,
  createOutboundDispatcher,
  refusedAddress,
} from "../../sidecar/src/connectors/outbound-http.js";
import { createHttpSink } from "../../sidecar/src/egress/http-sink.js";
import { createHttpSource } from "../../sidecar/src/ingress/legacy/http/http-source.js";
import { createConnectorTester } from "../../sidecar/src/odoo/connector-test.js";

describe("outbound HTTP policy", () => {
  it.each([
    ["169.254.169.254", true, /link-local or metadata/],
    ["::ffff:169.254.169.254", true, /link-local or metadata/],
    ["fe80::1", true, /link-local or metadata/],
    ["fd00:ec2::254", true, /link-local or metadata/],
    ["100.100.100.200", true, /link-local or metadata/],
    ["127.0.0.1", false, /loopback/],
    ["127.8.9.10", false, /loopback/],
    ["::1", false, /loopback/],
    ["0.0.0.0", false, /loopback/],
  ])("refuses %s (even with loopback allowed: %s)", (address, always, why) => {
    expect(refusedAddress(address)).toMatch(why);
    if (always) expect(refusedAddress(address, { allowLoopback: true })).toMatch(why);
    else expect(refusedAddress(address, { allowLoopback: true })).toBeUndefined();
  });

  it.each(["10.1.2.3", "192.168.1.20", "172.16.0.5", "8.8.8.8", "2001:db8::1"])(
    "lets the plant network through: %s",
    (address) => expect(refusedAddress(address)).toBeUndefined(),
  );

  it("refuses configured URLs to metadata, loopback names and other schemes", () => {
    const refused = (url: string) => () => checkOutboundUrl(new URL(url), "HTTP source");
    expect(refused("http://169.254.169.254/latest/meta-data/")).toThrow(/metadata/);
    expect(refused("http://[::ffff:a9fe:a9fe]/")).toThrow(/metadata/);
    expect(refused("http://localhost:8069/web")).toThrow(/loopback/);
    expect(refused("http://127.0.0.1:4000/graphql")).toThrow(/loopback/);
    expect(refused("file:///etc/passwd")).toThrow(/only http/);
    expect(() =>
      createHttpSource({
        connectorId: 1,
        name: "mes",
        url: "http://169.254.169.254/latest/meta-data/iam/",
        headers: {},
        itemsPath: "items",
        keyField: "id",
        paging: { kind: "none" },
        etag: false,
        store: { getState: async () => undefined },
      }),
    ).toThrow(/refused/);
    expect(() => createHttpSink({ url: "http://127.0.0.1:4000/", headers: {} })).toThrow(
      /loopback/,
    );
  });

  it("refuses a name that resolves to a refused address when it connects", async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end("secret");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // `localhost` is a name: only the lookup at connection time sees 127.0.0.1.
      await expect(
        request(`http://localhost:${port}/`, { dispatcher: createOutboundDispatcher() }),
      ).rejects.toThrow(/resolves to 127\.0\.0\.1 is a loopback address/);
      expect(hits).toBe(0);
      const allowed = await request(`http://localhost:${port}/`, {
        dispatcher: createOutboundDispatcher({ allowLoopback: true }),
      });
      expect(await allowed.body.text()).toBe("secret");
    } finally {
      server.close();
    }
  });

  it("Test Connection says why it refused, per connector", async () => {
    const tester = createConnectorTester({
      config: () => ({
        revision: 1,
        connectors: [
          {
            id: 1,
            name: "metadata",
            kind: "http_source",
            active: true,
            params: { url: "http://169.254.169.254/latest/meta-data/" },
            secrets: {},
          },
        ],
      }),
      timeoutMs: 1000,
    });
    const [result] = await tester.run([{ test_id: 1, connector_id: 1, connector: "#1" }]);
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/refused/) });
  });
});
