/**
 * HTTP source against a local JSON endpoint: pages (cursor, page numbers, same-origin links), a
 * `since` position committed with each page, an ETag answered 304, and errors by their kind.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ScrapEvent } from "../../sidecar/src/canonical/types.js";
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import {
  createHttpSource,
  type HttpSourceOptions,
} from "../../sidecar/src/ingress/legacy/http/http-source.js";
import { legacyHarness, type LegacyHarness } from "../helpers/legacy-harness.js";

interface Item {
  id: number;
  type: string;
  product: string;
  quantity: number;
  occurredAt: string;
  updated: string;
}

let server: Server;
let base: string;
let items: Item[];
let requests: Array<{ url: string; headers: IncomingMessage["headers"] }>;
let failWith: number | undefined;
let h: LegacyHarness;

const item = (id: number): Item => ({
  id,
  type: "scrap",
  product: "FURN_8522",
  quantity: id,
  occurredAt: "2026-11-26T08:00:00Z",
  updated: `2026-11-26T08:${String(id).padStart(2, "0")}:00Z`,
});

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url!, headers: req.headers });
    if (failWith) {
      res.writeHead(failWith).end();
      return;
    }
    const url = new URL(req.url!, "http://x");
    const since = url.searchParams.get("since");
    const visible = items.filter((i) => !since || i.updated > since);
    const etag = `"v${items.length}-${since ?? ""}"`;
    if (url.pathname === "/cursor") {
      if (req.headers["if-none-match"] === etag) return void res.writeHead(304).end();
      const from = Number(url.searchParams.get("cursor") ?? 0);
      const page = visible.slice(from, from + 3);
      const next = from + 3 < visible.length ? from + 3 : null;
      res.writeHead(200, { "content-type": "application/json", etag });
      res.end(JSON.stringify({ data: { rows: page }, next }));
    } else if (url.pathname === "/pages") {
      const n = Number(url.searchParams.get("page"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(visible.slice((n - 1) * 2, n * 2)));
    } else if (url.pathname === "/elsewhere") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ items: [item(1)], next: "http://example.invalid/steal" }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(async () => {
  items = Array.from({ length: 7 }, (_, i) => item(i + 1));
  requests = [];
  failWith = undefined;
  h = await legacyHarness();
});
afterEach(() => h.close());

function source(extra: Partial<HttpSourceOptions> = {}) {
  return createHttpSource({
    // the scripted legacy API listens on loopback
    outbound: { allowLoopback: true },
    connectorId: 4,
    name: "mes",
    url: `${base}/cursor`,
    headers: { authorization: "Bearer t0ken" },
    itemsPath: "data.rows",
    keyField: "id",
    since: { param: "since", field: "updated" },
    paging: { kind: "cursor", param: "cursor", nextPath: "next" },
    etag: true,
    store: h.store,
    ...extra,
  });
}

describe("HTTP source", () => {
  it("follows cursor pages, commits the since position, and sends the ETag next time", async () => {
    const src = source();
    expect(await src.run(h.ctx)).toMatchObject({ rows: 7, accepted: 7 });
    expect(requests.map((r) => r.url)).toEqual(["/cursor", "/cursor?cursor=3", "/cursor?cursor=6"]);
    expect(requests[0]!.headers.authorization).toBe("Bearer t0ken");
    const events = (await h.messages()).map((m) => m.event as ScrapEvent);
    expect(events.map((e) => e.id)).toEqual([
      "mes:1",
      "mes:2",
      "mes:3",
      "mes:4",
      "mes:5",
      "mes:6",
      "mes:7",
    ]);
    expect(JSON.parse((await h.store.getState("legacy.http.main.c4"))!)).toMatchObject({
      since: "2026-11-26T08:07:00Z",
      etag: '"v7-"',
      etagFor: `${base}/cursor`,
    });

    // nothing new since then: an empty page, whose ETag is kept; then a 304
    requests = [];
    expect(await src.run(h.ctx)).toMatchObject({ rows: 0 });
    expect(requests[0]!.url).toBe("/cursor?since=2026-11-26T08%3A07%3A00Z");
    expect(JSON.parse((await h.store.getState("legacy.http.main.c4"))!).etag).toBe(
      '"v7-2026-11-26T08:07:00Z"',
    );
    requests = [];
    const third = await src.run(h.ctx);
    expect(third.notes).toContain("not modified (ETag)");
    expect(requests[0]!.headers["if-none-match"]).toBe('"v7-2026-11-26T08:07:00Z"');

    items.push(item(8));
    expect(await src.run(h.ctx)).toMatchObject({ rows: 1, accepted: 1 });
    expect(await h.messages()).toHaveLength(8);
  });

  it("reads numbered pages until a short one, and keeps keys on a second read", async () => {
    const src = source({
      url: `${base}/pages`,
      itemsPath: "",
      etag: false,
      paging: { kind: "page", param: "page", start: 1, size: 2 },
    });
    expect(await src.run(h.ctx)).toMatchObject({ rows: 7, accepted: 7 });
    expect(requests.map((r) => r.url)).toEqual([
      "/pages?page=1",
      "/pages?page=2",
      "/pages?page=3",
      "/pages?page=4",
    ]);
    expect(await src.run(h.ctx)).toMatchObject({ rows: 0 });
    // position lost (a crash before its commit, an operator's reset): the same keys again
    await h.store.setState([{ key: "legacy.http.main.c4", value: null }]);
    expect(await src.run(h.ctx)).toMatchObject({ rows: 7, accepted: 0, duplicates: 7 });
  });

  it("refuses a next link to another origin and classifies HTTP errors", async () => {
    const elsewhere = source({
      url: `${base}/elsewhere`,
      itemsPath: "items",
      paging: { kind: "link", nextPath: "next" },
    });
    await expect(elsewhere.run(h.ctx)).rejects.toMatchObject({ code: "config" });
    for (const [status, code, retryable] of [
      [503, "legacy_unavailable", true],
      [401, "credentials", false],
      [404, "config", false],
    ] as const) {
      failWith = status;
      const err = (await source()
        .run(h.ctx)
        .catch((e: unknown) => e)) as PlantBridgeError;
      expect([err.code, err.retryable]).toEqual([code, retryable]);
    }
  });
});
