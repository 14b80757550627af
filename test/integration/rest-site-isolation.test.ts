/**
 * The Mapping Studio's REST routes honour a token's sites: a token of site `north` sees north's
 * mappings and shadow comparisons only, cannot preview a mapping of another site, and cannot read
 * the plant-wide raw views (samples of every topic, Sparkplug edge nodes); a connector's rows are
 * served to the tokens of the rows' site. Over real HTTP.
 */
import type { Principal } from "../../sidecar/src/contracts/http.js";
import { startHttpServer, type HttpServer } from "../../sidecar/src/api/http-server.js";
import { createMappingRoutes } from "../../sidecar/src/api/mapping-studio-routes.js";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import type { MappingEngine } from "../../sidecar/src/pipeline/mapping/engine.js";
import type { SampleRing } from "../../sidecar/src/pipeline/mapping/samples.js";
import type { SandboxPool } from "../../sidecar/src/pipeline/mapping/sandbox/pool.js";
import type { ShadowLog } from "../../sidecar/src/pipeline/mapping/shadow.js";

const logger = createLogger({ level: "silent" });
const principals: Record<string, Principal> = {
  everything: { name: "ops", scopes: ["read:messages", "admin"] },
  north: { name: "north ops", scopes: ["read:messages", "admin"], sites: ["north"] },
};

let http: HttpServer;

beforeAll(async () => {
  const definition = (id: number, site: string) => ({
    id,
    ref: `m${id}`,
    name: `Mapping ${id}`,
    version: 1,
    state: "active",
    site,
    selector: { pattern: `acme/${site}/#`, filter: `acme/${site}/#` },
    eventType: "machine_status",
  });
  const engine = {
    definitions: () => [definition(1, "north"), definition(2, "south")],
    problems: () => [{ id: 9, version: 1, name: "broken", message: "south's secret expression" }],
  } as unknown as MappingEngine;
  const comparison = (site: string) => ({ site, topic: `acme/${site}/x`, mappingId: 1 });
  const shadow = {
    stats: () => [
      { mappingId: 1, site: "north" },
      { mappingId: 2, site: "south" },
    ],
    list: () => [comparison("north"), comparison("south")],
  } as unknown as ShadowLog;
  const row = (site: string, line: number) => ({
    topic: `file:${site}.csv:${line}`,
    site,
    connectorId: 4,
    encoding: "utf8",
    payload: JSON.stringify({ [`${site}_secret`]: line }),
  });
  const samples = {
    topics: () => ["acme/south/press"],
    list: (o: { connector?: number } = {}) =>
      o.connector === 4 ? [row("south", 3), row("north", 2)] : [{ topic: "acme/south/press" }],
  } as unknown as SampleRing;
  http = await startHttpServer({
    port: 0,
    api: { handle: () => undefined } as never,
    auth: { authenticate: (token) => principals[token] },
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    health: () => ({}),
    ready: () => ({ ready: true, reasons: [] }),
    extraRoutes: createMappingRoutes({
      engine,
      shadow,
      samples,
      sparkplugNodes: () => [{ group: "south", edge: "plc" }],
      defaultSite: "south",
      pool: {} as SandboxPool,
      check: createEventChecker(),
    }),
  });
});

afterAll(() => http.close());

async function call(token: string, path: string, body?: unknown) {
  const res = await fetch(`${http.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown[]> };
}

describe("REST routes and a token's sites", () => {
  it("a site's token sees that site's mappings and comparisons only", async () => {
    const mine = await call("north", "/api/v1/mappings");
    expect(mine.status).toBe(200);
    expect(mine.body.mappings!.map((m) => (m as { site: string }).site)).toEqual(["north"]);
    expect(mine.body.problems).toEqual([]);
    expect(mine.body.shadow).toEqual([{ mappingId: 1, site: "north" }]);
    const shadow = await call("north", "/api/v1/mappings/shadow");
    expect(shadow.body.comparisons!.map((c) => (c as { site: string }).site)).toEqual(["north"]);

    const all = await call("everything", "/api/v1/mappings");
    expect(all.body.mappings).toHaveLength(2);
    expect(all.body.problems).toHaveLength(1);
  });

  it("a site's token cannot read the plant-wide views nor preview another site's mapping", async () => {
    expect((await call("north", "/api/v1/samples")).status).toBe(403);
    expect((await call("north", "/api/v1/sparkplug/nodes")).status).toBe(403);
    expect((await call("everything", "/api/v1/samples")).status).toBe(200);
    const preview = (site?: string) =>
      call("north", "/api/v1/mappings/preview", {
        mapping: {
          selector: "acme/{site}/{machine}/status",
          eventType: "machine_status",
          expression: "{}",
          ...(site && { site }),
        },
        samples: [],
      });
    expect((await preview("south")).status).toBe(403);
    expect((await preview()).status).toBe(403); // the default site is south
  });

  it("a site's token reads a connector's rows of its own site only", async () => {
    const north = await call("north", "/api/v1/samples/rows?connector=4");
    expect(north.status).toBe(200);
    expect(north.body.rows!.map((r) => (r as { topic: string }).topic)).toEqual([
      "file:north.csv:2",
    ]);
    expect(north.body.columns).toEqual(["north_secret"]);
    const all = await call("everything", "/api/v1/samples/rows?connector=4");
    expect(all.body.columns).toEqual(["south_secret", "north_secret"]);
  });
});
