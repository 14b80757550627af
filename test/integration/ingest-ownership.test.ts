/**
 * Ingest ownership and lease-holder liveness on a real PostgreSQL (scheduler/ownership.ts):
 * one owner per group; a standby takes over within seconds when the owner's session ends
 * (PostgreSQL connection lost) or its network is cut; a cut-off owner steps down (the fence)
 * before the standby can take the lock, and stays a standby when it comes back; and the leases
 * of a dead sidecar are taken over at once, not after their 120 s.
 */
import pg from "pg";
import { faultProxy, type FaultProxy } from "../../scripts/fault/proxy.js";
import { createLogger } from "../../sidecar/src/logger.js";
import {
  createPgOwnership,
  type IngestOwnership,
  type IngestRole,
} from "../../sidecar/src/scheduler/ownership.js";
import { createPostgresStore } from "../../sidecar/src/store/index.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { createTestDatabase, serviceAvailable } from "../helpers/services.js";

const up = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);
const logger = createLogger({ level: "silent" });

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

(up ? describe : describe.skip)("ingest ownership on PostgreSQL", () => {
  let db: { url: string; drop: () => Promise<void> };
  const open: IngestOwnership[] = [];
  const proxies: FaultProxy[] = [];
  let admin: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase("pb_ownership");
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  function member(name: string, group: string, url = db.url) {
    const changes: Array<{ role: IngestRole; at: number }> = [];
    const o = createPgOwnership({
      connectionString: url,
      group,
      name,
      logger,
      onRoleChange: (role) => changes.push({ role, at: Date.now() }),
    });
    open.push(o);
    return { o, changes };
  }

  /** The server pid of a member's ownership session. */
  async function backendOf(name: string): Promise<number> {
    const r = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [`plant-bridge-ownership:${name}`],
    );
    expect(r.rows).toHaveLength(1);
    return r.rows[0]!.pid;
  }

  it("elects one owner per group; the standby takes over within seconds of a lost session", async () => {
    const a = member("own-a", "line-1");
    await a.o.settled();
    const b = member("own-b", "line-1");
    await b.o.settled();
    // a group of its own elects its own owner
    const other = member("own-c", "line-2");
    await other.o.settled();
    expect([a.o.role(), b.o.role(), other.o.role()]).toEqual(["owner", "standby", "owner"]);
    expect(b.o.owned()).toBe(false);

    // PostgreSQL drops the owner's session: it is fenced at once, the standby owns within seconds
    const lostAt = Date.now();
    await admin.query("SELECT pg_terminate_backend($1)", [await backendOf("own-a")]);
    await until("the standby to take over", () => b.o.role() === "owner");
    const takeoverMs = Date.now() - lostAt;
    const stepDown = a.changes.find((c) => c.role === "standby");
    expect(stepDown).toBeDefined();
    expect(stepDown!.at).toBeLessThanOrEqual(b.changes[0]!.at);
    expect(takeoverMs).toBeLessThan(10_000);
    // the former owner reconnects as a standby and stays one
    await new Promise((r) => setTimeout(r, 2500));
    expect([a.o.role(), a.o.owned(), b.o.role(), b.o.owned()]).toEqual([
      "standby",
      false,
      "owner",
      true,
    ]);
    expect(b.changes.map((c) => c.role)).toEqual(["owner"]);
  });

  it("an owner whose session was lost yields: the standby wins though it tries later", async () => {
    const a = member("yield-a", "line-4");
    await a.o.settled();
    // a standby that tries the lock only every 3 s: the former owner reconnects (and could try
    // again) long before it
    const changes: IngestRole[] = [];
    const slow = createPgOwnership({
      connectionString: db.url,
      group: "line-4",
      name: "yield-b",
      logger,
      pollMs: 1500,
      heartbeatTimeoutMs: 2000,
      idleSessionTimeoutMs: 5000,
      onRoleChange: (role) => changes.push(role),
    });
    open.push(slow);
    await slow.settled();
    expect([a.o.role(), slow.role()]).toEqual(["owner", "standby"]);
    await admin.query("SELECT pg_terminate_backend($1)", [await backendOf("yield-a")]);
    await until("the standby to take over", () => slow.role() === "owner");
    await new Promise((r) => setTimeout(r, 2000));
    expect([a.o.role(), slow.role(), changes]).toEqual(["standby", "owner", ["owner"]]);
  });

  it("a stall of this process shorter than the server's timeout is not a lost session", async () => {
    const a = member("stall-a", "line-5");
    await a.o.settled();
    const b = member("stall-b", "line-5");
    await b.o.settled();
    expect([a.o.role(), b.o.role()]).toEqual(["owner", "standby"]);
    // a synchronous 3.5 s (a cold start's module loading on a loaded machine): nothing was
    // asked, so nothing went unanswered
    const until3 = Date.now() + 3500;
    while (Date.now() < until3);
    expect(a.o.owned()).toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    expect([a.o.role(), a.o.owned(), b.o.role()]).toEqual(["owner", true, "standby"]);
    // no step down, no takeover: the owner's only change is its election
    expect([a.changes.map((c) => c.role), b.changes]).toEqual([["owner"], []]);
  });

  it("a cut network: the owner steps down before the standby can take the lock, and stays down", async () => {
    const proxy = await faultProxy(5432);
    proxies.push(proxy);
    const via = new URL(db.url);
    via.port = String(proxy.port);
    const a = member("cut-a", "line-3", via.toString());
    await a.o.settled();
    const b = member("cut-b", "line-3");
    await b.o.settled();
    expect([a.o.role(), b.o.role()]).toEqual(["owner", "standby"]);

    const cutAt = Date.now();
    proxy.freeze();
    await until("the standby to take over", () => b.o.role() === "owner");
    const takeoverMs = Date.now() - cutAt;
    const fencedAt = a.changes.find((c) => c.role === "standby")?.at;
    expect(fencedAt).toBeDefined();
    // the fence: the cut-off owner stopped before the server freed its lock for the standby
    expect(fencedAt!).toBeLessThan(b.changes[0]!.at);
    expect(a.o.owned()).toBe(false);
    expect(takeoverMs).toBeLessThan(15_000);

    proxy.thaw();
    await new Promise((r) => setTimeout(r, 3000));
    expect([a.o.role(), b.o.role()]).toEqual(["standby", "owner"]);
    expect(b.changes.map((c) => c.role)).toEqual(["owner"]);
  });

  it("takes over the leases of a dead holder at once, not when they run out", async () => {
    const store: Store = await createPostgresStore({ connectionString: db.url, schema: "lv" });
    try {
      const dying = member("lease-a", "lease-group");
      const survivor = member("lease-b", "lease-group");
      await dying.o.holdLiveness("worker-a@host-1#10#aaaaaa");
      await survivor.o.holdLiveness("worker-b@host-2#20#bbbbbb");
      await store.ingest(
        [1, 2, 3].map((n) => ({
          kind: "event" as const,
          event: {
            id: `e${n}`,
            type: "scrap",
            site: "lv",
            occurredAt: new Date().toISOString(),
            product: "P",
            quantity: 1,
          } as never,
          orderKey: "scrap:P",
          source: "mqtt" as const,
          origin: "test",
          receivedAt: Date.now(),
        })),
      );
      const leased = await store.lease({
        owner: "worker-a@host-1#10#aaaaaa",
        limit: 10,
        leaseMs: 120_000,
      });
      expect(leased).toHaveLength(3);
      const holders = await store.leaseHolders();
      expect(await survivor.o.deadHolders(holders)).toEqual([]);
      expect(await survivor.o.deadHolders(["nobody@x#1#cccccc"])).toEqual(["nobody@x#1#cccccc"]);

      // the holder dies (its session ends): its leases are free to take over, not in 120 s
      await dying.o.close();
      const dead = await until("the holder to read as dead", async () => {
        const d = await survivor.o.deadHolders(await store.leaseHolders());
        return d.length ? d : undefined;
      });
      expect(dead).toEqual(["worker-a@host-1#10#aaaaaa"]);
      expect(await store.expedite({ now: Date.now(), owners: dead })).toBe(3);
      const again = await store.lease({
        owner: "worker-b@host-2#20#bbbbbb",
        limit: 10,
        leaseMs: 120_000,
      });
      expect(again.map((r) => r.eventId)).toEqual(["e1", "e2", "e3"]);
    } finally {
      await store.close();
    }
  });
});
