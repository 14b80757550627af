import pg from "pg";
import { openStore } from "../../sidecar/src/store/index.js";
import { createPostgresStore } from "../../sidecar/src/store/postgres/postgres-store.js";
import { SCHEMA_VERSION, migrate } from "../../sidecar/src/store/postgres/schema.js";
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

  it("survives PostgreSQL dropping connections in the middle of transactions", async () => {
    // A connection the server drops while checked out between two queries emitted an `error`
    // nobody listened to, and the process ended (seen with `pg_ctl stop -m immediate`).
    const schema = randomName("s");
    const store = await open(schema);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const terminate = () =>
        admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'plant-bridge' AND datname = current_database()
             AND pid <> pg_backend_pid()`,
        );
      let failed = 0;
      for (let round = 0; round < 20; round++) {
        const writes = Array.from({ length: 8 }, (_, i) =>
          store.ingest([eventItem(production(`r${round}-${i}`))]).catch(() => failed++),
        );
        await new Promise((r) => setTimeout(r, round % 3));
        await terminate();
        await Promise.all(writes);
      }
      expect(failed).toBeGreaterThan(0); // the connections were really dropped under writes
      expect(await store.ingest([eventItem(production("after"))])).toMatchObject([
        { status: "accepted" },
      ]);
    } finally {
      await admin.end();
      await store.close();
    }
  });

  it("lets several sidecars open the same schema at once", async () => {
    const schema = randomName("s");
    const stores = await Promise.all([open(schema), open(schema), open(schema), open(schema)]);
    await stores[0]!.ingest([eventItem(production("x"))]);
    expect(await stores[3]!.listMessages()).toHaveLength(1);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("migrates a version 1 schema (before the state table) and keeps its rows", async () => {
    const schema = randomName("s");
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      await migrate(pool, schema, 1);
      await pool.query(
        `INSERT INTO "${schema}".sites (site) VALUES ('main');
         INSERT INTO "${schema}".dead_letters (site, code, message, payload, payload_encoding,
           payload_size, source, origin, fingerprint, created_at, updated_at)
         VALUES ('main', 'invalid_json', 'bad', '{x', 'utf8', 2, 'mqtt', 'topic', 'f1', 1, 1)`,
      );
      const v1 = await pool.query(`SELECT version FROM "${schema}".schema_version`);
      expect(v1.rows).toEqual([{ version: 1 }]);

      const store = await open(schema);
      expect(await store.listDeadLetters()).toMatchObject([{ payload: "{x", repeats: 0 }]);
      await store.ingest([eventItem(production("new1"))], { state: [{ key: "wm", value: "1" }] });
      expect(await store.getState("wm")).toBe("1");
      await store.close();

      const v2 = await pool.query(`SELECT version FROM "${schema}".schema_version`);
      expect(v2.rows).toEqual([{ version: SCHEMA_VERSION }]);
      const kv = await pool.query(`SELECT key, convert_from(value, 'UTF8') AS value
        FROM "${schema}".kv`);
      expect(kv.rows).toEqual([{ key: "wm", value: "1" }]);
    } finally {
      await pool.end();
    }
  });

  it("lets exactly one of two sidecars advance a watermark from the same value", async () => {
    const schema = randomName("s");
    const stores = [await open(schema), await open(schema)];
    const rounds = 20;
    const outcomes: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // odd rounds: the key exists and is locked; even rounds: it is unset, so both insert
      const previous = round % 2 === 1 ? `${round - 1}` : null;
      if (previous !== null) await stores[0]!.setState([{ key: `wm${round}`, value: previous }]);
      const settled = await Promise.allSettled(
        stores.map((store, i) =>
          store.ingest([eventItem(production(`r${round}-s${i}`))], {
            state: [{ key: `wm${round}`, value: `s${i}`, expect: previous }],
          }),
        ),
      );
      const won = settled.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(won).toHaveLength(1);
      const lost = settled.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ code: "state_conflict", kind: "transient" });
      expect(await stores[1]!.getState(`wm${round}`)).toBe(`s${won[0]}`);
      outcomes.push(`r${round}-s${won[0]}`);
    }
    // only the winners' events were committed
    const events = (await stores[0]!.listMessages({ limit: 1000 })).map((m) => m.eventId);
    expect(events.sort()).toEqual(outcomes.sort());
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
    expect(stats.sites).toMatchObject([
      { site: "main", pending: 0, deadLetters: 0, oldestPendingAt: null },
    ]);
    await Promise.all(stores.map((s) => s.close()));
  });
});
