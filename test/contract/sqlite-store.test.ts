import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openStore } from "../../sidecar/src/store/index.js";
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
    expect(db.pragma("user_version", { simple: true })).toBe(1);
    db.close();
    const store = createSqliteStore({ path });
    expect(await store.ingest([eventItem(production("x"))])).toMatchObject([
      { status: "accepted" },
    ]);
    await store.close();
  });

  it("refuses a database written by a newer schema", async () => {
    const path = join(dir, "future.db");
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(/schema version 99/);
  });
});
