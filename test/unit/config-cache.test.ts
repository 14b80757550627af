/**
 * The configuration a sidecar caches in its store for a restart while Odoo is down holds the
 * connectors' secrets: it is sealed under a key derived from the Odoo API key, opens with the
 * same key only, and a store copy shows no secret.
 */
import type { OdooClient } from "../../sidecar/src/contracts/odoo-api.js";
import type { SiteConfig } from "../../sidecar/src/contracts/site-config.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createConfigSync } from "../../sidecar/src/odoo/config-sync.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";

const SECRET = "db-password-7f3a9c1e-do-not-leak";
const logger = createLogger({ level: "silent" });

const config = {
  changed: true,
  revision: 3,
  site: "main",
  mappings: [],
  schedules: [],
  connectors: [
    {
      id: 1,
      name: "MES database",
      kind: "sql_source",
      params: { url: "postgres://mes@db/mes" },
      secrets: { password: SECRET },
    },
  ],
};

function client(answer: () => unknown): OdooClient {
  return {
    protocol: () => "json2",
    version: async () => [19, 0],
    healthy: async () => true,
    call: async <T>() => answer() as T,
    close: async () => undefined,
  };
}

let store: Store;
beforeEach(async () => {
  store = await openStore(":memory:");
});
afterEach(async () => store.close());

async function restartWithOdooDown(apiKey: string): Promise<SiteConfig | undefined> {
  const loaded: SiteConfig[] = [];
  const sync = createConfigSync({
    client: client(() => {
      throw new Error("connect ECONNREFUSED");
    }),
    site: "main",
    logger,
    store,
    cacheSecret: apiKey,
    onChange: (c) => void loaded.push(c),
  });
  sync.start();
  await new Promise((r) => setTimeout(r, 50));
  await sync.stop();
  return loaded[0];
}

describe("configuration cache", () => {
  it("keeps no secret in the store, and runs on it after a restart with the same API key", async () => {
    const sync = createConfigSync({
      client: client(() => structuredClone(config)),
      site: "main",
      logger,
      store,
      cacheSecret: "api-key-one",
    });
    expect(await sync.poll()).toBe(true);
    const raw = await store.getState("odoo.config.main");
    expect(raw).toBeDefined();
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain("MES database");
    const again = await restartWithOdooDown("api-key-one");
    expect(again?.connectors[0]?.secrets).toEqual({ password: SECRET });
  });

  it("does not use a cache sealed under another API key (a rotated key waits for Odoo)", async () => {
    const sync = createConfigSync({
      client: client(() => structuredClone(config)),
      site: "main",
      logger,
      store,
      cacheSecret: "api-key-one",
    });
    await sync.poll();
    expect(await restartWithOdooDown("api-key-two")).toBeUndefined();
  });

  it("does not use a cache tampered with", async () => {
    const sync = createConfigSync({
      client: client(() => structuredClone(config)),
      site: "main",
      logger,
      store,
      cacheSecret: "k",
    });
    await sync.poll();
    const box = JSON.parse((await store.getState("odoo.config.main"))!) as { data: string };
    const data = Buffer.from(box.data, "base64");
    data[0] = data[0]! ^ 1;
    await store.setState([
      {
        key: "odoo.config.main",
        value: JSON.stringify({ ...box, data: data.toString("base64") }),
      },
    ]);
    expect(await restartWithOdooDown("k")).toBeUndefined();
  });
});
