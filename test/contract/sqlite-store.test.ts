import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openStore } from "../../sidecar/src/store/index.js";
import { SCHEMA_VERSION, migrate } from "../../sidecar/src/store/sqlite/schema.js";
import { createSqliteStore } from "../../sidecar/src/store/sqlite/sqlite-store.js";
import { T0, eventItem, production, rejectItem, rejection } from "./fixtures.js";
import { defineStoreContract } from "./store.contract.js";

defineStoreContract("sqlite", async () => createSqliteStore({ path: ":memory:" }));

describe("sqlite store on a file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pb-sqlite-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds everything again after close and reopen", async () => {
    const path = join(dir, "nested", "dir", "plant-bridge.db");
    const store = await openStore(path);
    expect(store.kind).toBe("sqlite");
    await store.ingest([
      eventItem(production("a1", "MO/A")),
      eventItem(production("a2", "MO/A")),
      eventItem(production("b1", "MO/B")),
      rejectItem(rejection("{oops")),
    ]);
    const leased = await store.lease({ owner: "w1", limit: 10, now: T0, leaseMs: 60_000 });
    await store.settle("w1", [
      { seq: leased[0]!.seq, status: "applied", ref: "mrp.production,1", at: T0 + 1 },
      { seq: leased[2]!.seq, status: "rejected", code: "unknown_order", message: "no MO/B" },
    ]);
    const messages = await store.listMessages();
    const deadLetters = await store.listDeadLetters();
    const stats = await store.stats();
    await store.close();

    const reopened = await openStore(path);
    expect(await reopened.listMessages()).toEqual(messages);
    expect(await reopened.listDeadLetters()).toEqual(deadLetters);
    expect(await reopened.stats()).toEqual(stats);
    // a2's lease is still live after the restart, so nothing is handed out twice
    expect(await reopened.lease({ owner: "w2", limit: 10, now: T0 + 1, leaseMs: 1 })).toEqual([]);
    const taken = await reopened.lease({ owner: "w2", limit: 10, now: T0 + 60_000, leaseMs: 1 });
    expect(taken).toMatchObject([{ eventId: "a2", attempts: 2, leaseOwner: "w2" }]);
    expect(await reopened.ingest([eventItem(production("a1", "MO/A"))])).toEqual([
      { status: "duplicate" },
    ]);
    await reopened.close();
  });

  it("runs in WAL mode with synced commits and records its schema version", async () => {
    const path = join(dir, "pb.db");
    await (await openStore(path)).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const store = createSqliteStore({ path });
    expect(await store.ingest([eventItem(production("x"))])).toMatchObject([
      { status: "accepted" },
    ]);
    await store.close();
  });

  it("migrates a version 1 file (before the state table) and keeps its rows", async () => {
    // The file the previous release left: schema 1 only, with an event leased and a dead letter.
    const path = join(dir, "v1.db");
    const v1 = new Database(path);
    v1.pragma("journal_mode = WAL");
    migrate(v1, 1);
    v1.exec(`
      INSERT INTO sites (site) VALUES ('main');
      INSERT INTO messages (site, event_id, type, order_key, payload, source, origin,
        received_at, state, attempts, lease_owner, lease_until, next_attempt_at)
      VALUES ('main', 'old1', 'production', 'main/order/MO/A',
        '${JSON.stringify(production("old1", "MO/A"))}', 'mqtt', 'topic', ${T0},
        'leased', 1, 'w0', ${T0 + 10}, ${T0 + 10});
      INSERT INTO dead_letters (site, code, message, payload, payload_encoding, payload_size,
        source, origin, fingerprint, created_at, updated_at)
      VALUES ('main', 'invalid_json', 'bad', '{x', 'utf8', 2, 'mqtt', 'topic', 'f1', ${T0}, ${T0});
    `);
    expect(v1.pragma("user_version", { simple: true })).toBe(1);
    v1.close();

    const store = createSqliteStore({ path });
    expect(await store.listMessages()).toMatchObject([
      { eventId: "old1", state: "leased", attempts: 1, event: production("old1", "MO/A") },
    ]);
    expect(await store.listDeadLetters({ afterId: 0 })).toMatchObject([{ payload: "{x" }]);
    // the old lease expires and the event is handed out again, after the migration
    expect(await store.lease({ owner: "w1", limit: 9, now: T0 + 10, leaseMs: 5 })).toMatchObject([
      { eventId: "old1", attempts: 2 },
    ]);
    await store.ingest([eventItem(production("new1"))], { state: [{ key: "wm", value: "1" }] });
    await store.close();

    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT key, CAST(value AS TEXT) AS value FROM kv").all()).toEqual([
      { key: "wm", value: "1" },
    ]);
    db.close();
    const reopened = createSqliteStore({ path });
    expect(await reopened.getState("wm")).toBe("1");
    expect((await reopened.listMessages()).map((m) => m.eventId)).toEqual(["new1", "old1"]);
    await reopened.close();
  });

  it("refuses a database written by a newer schema", async () => {
    const path = join(dir, "future.db");
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(/schema version 99/);
  });
});
