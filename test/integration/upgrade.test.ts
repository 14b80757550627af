/**
 * Upgrade without loss: a SQLite store made with the schema of earlier releases (the migrations
 * as they were at those commits, read with `git show`), holding pending and leased events, is
 * opened by the current sidecar process. It migrates forward and hands every event out once.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { projectPath } from "../../sidecar/src/paths.js";
import { SCHEMA_VERSION } from "../../sidecar/src/store/sqlite/schema.js";
import { createSqliteStore } from "../../sidecar/src/store/sqlite/sqlite-store.js";
import { samples } from "../helpers/samples.js";
import { startSidecarProcess } from "../helpers/sidecar-process.js";

/** Commits that changed the SQLite schema: the first store, and the release before the last. */
const RELEASES = [
  { commit: "8768957", what: "the first SQLite store (schema 1)" },
  { commit: "b68c720", what: "the store with the state table (schema 2)" },
];

/** The migrations of `schema.ts` as they were at `commit`. */
function migrationsAt(commit: string): string[] {
  const text = execFileSync("git", ["show", `${commit}:sidecar/src/store/sqlite/schema.ts`], {
    cwd: projectPath(),
    encoding: "utf8",
  });
  const start = text.indexOf("const MIGRATIONS");
  const end = text.indexOf("\n];", start);
  const list = [...text.slice(start, end).matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
  if (!list.length || list.some((sql) => sql.includes("${")))
    throw new Error(`cannot read the migrations of ${commit}`);
  return list;
}

const N = 40;

describe.each(RELEASES)("upgrade from $what", ({ commit }) => {
  it("migrates forward and hands every pending event out once", async () => {
    const migrations = migrationsAt(commit);
    expect(migrations.length).toBeLessThan(SCHEMA_VERSION);
    const dir = mkdtempSync(join(tmpdir(), "pb-upgrade-"));
    const path = join(dir, "plant-bridge.db");
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    for (const sql of migrations) old.exec(sql);
    old.pragma(`user_version = ${migrations.length}`);
    old.exec("INSERT INTO sites (site) VALUES ('main')");
    const insert = old.prepare(
      `INSERT INTO messages (site, event_id, type, order_key, payload, source, origin,
         received_at, state, attempts, lease_owner, lease_until, next_attempt_at)
       VALUES ('main', ?, 'scrap', ?, ?, 'mqtt', 'plant-bridge/v1/main/events', ?, ?, ?, ?, ?, ?)`,
    );
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < N; i++) {
      const event = { ...samples.scrap, site: "main", id: `old-${i}` };
      // the old sidecar stopped with a few rows leased (its lease long gone) and the rest pending
      const leased = i % 10 === 0;
      insert.run(
        event.id,
        `main/wc/${i % 3}`,
        JSON.stringify(event),
        t0 + i,
        leased ? "leased" : "pending",
        leased ? 1 : 0,
        leased ? "old-sidecar" : null,
        leased ? t0 + 1000 : null,
        leased ? t0 + 1000 : 0,
      );
    }
    old.close();

    // The current sidecar on that file: it must start (migrating) and become ready.
    const sidecar = await startSidecarProcess({
      PLANT_BRIDGE_STORE: path,
      PLANT_BRIDGE_NAME: "upgraded",
      PLANT_BRIDGE_MQTT_PORT: "0",
      PLANT_BRIDGE_SPARKPLUG_GROUPS: "none",
    });
    expect(await sidecar.kill("SIGTERM")).toBe(0);

    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const store = createSqliteStore({ path });
    try {
      const handed: string[] = [];
      for (;;) {
        const batch = await store.lease({ owner: "new-sidecar", limit: 7, leaseMs: 60_000 });
        if (!batch.length) break;
        handed.push(...batch.map((r) => r.eventId));
        await store.settle(
          "new-sidecar",
          batch.map((r) => ({ seq: r.seq, status: "applied" as const })),
        );
      }
      expect(handed.sort()).toEqual(Array.from({ length: N }, (_, i) => `old-${i}`).sort());
      const rows = await store.listMessages({ site: "main", limit: 100 });
      expect(rows.every((r) => r.state === "applied")).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
});
