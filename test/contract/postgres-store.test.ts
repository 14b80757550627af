import pg from "pg";
import { openStore } from "../../sidecar/src/store/index.js";
import { createPostgresStore } from "../../sidecar/src/store/postgres/postgres-store.js";
import type { Store } from "../../sidecar/src/store/types.js";
import { createTestDatabase, randomName, serviceAvailable } from "../helpers/services.js";
import { T0, eventItem, production } from "./fixtures.js";
import { defineStoreContract } from "./store.contract.js";

const up = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);

(up ? describe : describe.skip)("postgres store", () => {
  let database: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    database = await createTestDatabase("pb_store");
  });
  afterAll(async () => {
    await database.drop();
  });

  /** A fresh schema per test: isolation without a database per test. */
  const open = (schema = randomName("s")) =>
    createPostgresStore({ connectionString: database.url, schema, poolSize: 4 });

  defineStoreContract("postgres", () => open());

  it("opens from a postgres:// URL in the default schema", async () => {
    const store = await openStore(database.url);
    expect(store.kind).toBe("postgres");
    expect(await store.ingest([eventItem(production("u1"))])).toMatchObject([
      { status: "accepted" },
    ]);
    await store.close();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query("SELECT event_id FROM plant_bridge.messages");
    await client.end();
    expect(rows).toEqual([{ event_id: "u1" }]);
  });

  it("lets several sidecars open the same schema at once", async () => {
    const schema = randomName("s");
    const stores = await Promise.all([open(schema), open(schema), open(schema), open(schema)]);
    await stores[0]!.ingest([eventItem(production("x"))]);
    expect(await stores[3]!.listMessages()).toHaveLength(1);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("does not split a key when an earlier row is locked by another worker's lease", async () => {
    const schema = randomName("s");
    const store = await open(schema);
    await store.ingest([
      eventItem(production("a1", "MO/A")),
      eventItem(production("a2", "MO/A")),
      eventItem(production("b1", "MO/B")),
    ]);
    // Another worker's lease statement has locked a1 but not committed yet: a1 still reads as
    // pending, and SKIP LOCKED hides it from this lease.
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query(`SELECT 1 FROM "${schema}".messages WHERE event_id = 'a1' FOR UPDATE`);
      const rows = await store.lease({ owner: "w2", limit: 10, now: T0, leaseMs: 1000 });
      expect(rows.map((r) => r.eventId)).toEqual(["b1"]);
    } finally {
      await other.query("ROLLBACK");
      await other.end();
    }
    const rest = await store.lease({ owner: "w1", limit: 10, now: T0, leaseMs: 1000 });
    expect(rest.map((r) => r.eventId)).toEqual(["a1", "a2"]);
    await store.close();
  });

  it("two sidecars leasing concurrently never share an event nor reorder a key", async () => {
    const schema = randomName("s");
    const stores = [await open(schema), await open(schema)];
    const total = 2000;
    const keys = 20;
    const keyOf = (i: number) => `MO/${(i * 7919) % keys}`; // interleaved, not round-robin
    const items = Array.from({ length: total }, (_, i) =>
      eventItem(production(`e${i}`, keyOf(i)), { receivedAt: T0 + i }),
    );
    const accepted = await stores[0]!.ingest(items);
    expect(accepted.every((r) => r.status === "accepted")).toBe(true);

    const expectedOrder = new Map<string, number[]>();
    for (const item of items) {
      if (item.kind !== "event") continue;
      const list = expectedOrder.get(item.orderKey) ?? [];
      list.push(Number(item.event.id.slice(1)));
      expectedOrder.set(item.orderKey, list);
    }
    const leasedBy = new Map<number, string>();
    const settledOrder = new Map<string, number[]>();
    const violations: string[] = [];
    let settled = 0;

    async function worker(store: Store, owner: string): Promise<number> {
      let leasedRows = 0;
      while (settled < total) {
        const rows = await store.lease({ owner, limit: 10, leaseMs: 60_000 });
        if (rows.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        leasedRows += rows.length;
        for (const row of rows) {
          const previous = leasedBy.get(row.seq);
          if (previous) violations.push(`seq ${row.seq} leased by ${previous} and ${owner}`);
          leasedBy.set(row.seq, owner);
          // every earlier event of the key must have been settled (or be earlier in this lease)
          const n = Number(row.eventId.slice(1));
          const order = expectedOrder.get(row.orderKey)!;
          const done = settledOrder.get(row.orderKey) ?? [];
          const inThisLease = rows.filter((r) => r.orderKey === row.orderKey).map((r) => r.eventId);
          const earlier = order.slice(0, order.indexOf(n));
          const missing = earlier.filter(
            (e) => !done.includes(e) && !inThisLease.includes(`e${e}`),
          );
          if (missing.length > 0) violations.push(`${row.eventId} leased before e${missing[0]}`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
        // record the settle order before the settle commits, so no later lease can precede it
        for (const row of rows) {
          const list = settledOrder.get(row.orderKey) ?? [];
          list.push(Number(row.eventId.slice(1)));
          settledOrder.set(row.orderKey, list);
        }
        settled += rows.length;
        await store.settle(
          owner,
          rows.map((r) => ({ seq: r.seq, status: "applied" as const })),
        );
      }
      return leasedRows;
    }

    const [one, two] = await Promise.all([worker(stores[0]!, "w1"), worker(stores[1]!, "w2")]);
    expect(violations).toEqual([]);
    expect(leasedBy.size).toBe(total);
    expect(one + two).toBe(total);
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
    expect(settledOrder).toEqual(expectedOrder);
    const stats = await stores[1]!.stats();
    expect(stats.sites).toEqual([
      { site: "main", pending: 0, deadLetters: 0, oldestPendingAt: null },
    ]);
    await Promise.all(stores.map((s) => s.close()));
  });
});
