/** What operators read and clean up: stats per site, purge, the message trace. */
import { type ContractContext, ids } from "./contract-context.js";
import { T0, eventItem, production, rejectItem, rejection } from "./fixtures.js";

export function traceContract({ store, lease }: ContractContext): void {
  describe("stats", () => {
    it("reports per site the unsettled events, open dead letters and oldest pending receipt", async () => {
      expect(await store.stats()).toEqual({ sites: [] });
      await store.ingest([
        eventItem(production("m1", "MO/1"), { receivedAt: T0 + 1000 }),
        eventItem(production("m2", "MO/2"), { receivedAt: T0 + 2000 }),
        eventItem(production("n1", "MO/1", { site: "north" }), { receivedAt: T0 + 3000 }),
        rejectItem(rejection("bad", { site: "south" })),
      ]);
      const [m1] = await store.lease({
        owner: "w",
        limit: 1,
        now: T0,
        leaseMs: 1,
        sites: ["main"],
      });
      expect((await store.stats(T0)).sites).toMatchObject([
        { site: "main", pending: 2, deadLetters: 0, oldestPendingAt: T0 + 1000 },
        { site: "north", pending: 1, deadLetters: 0, oldestPendingAt: T0 + 3000 },
        { site: "south", pending: 0, deadLetters: 1, oldestPendingAt: null },
      ]);
      await store.settle("w", [{ seq: m1!.seq, status: "applied" }]);
      expect((await store.stats()).sites[0]).toMatchObject({
        site: "main",
        pending: 1,
        deadLetters: 0,
        oldestPendingAt: T0 + 2000,
      });
      const rest = await lease("w", 10, T0 + 10);
      await store.settle(
        "w",
        rest.map((r) => ({
          seq: r.seq,
          status: "rejected" as const,
          code: "schema",
          message: "",
        })),
      );
      expect((await store.stats()).sites).toMatchObject([
        { site: "main", pending: 0, deadLetters: 1, oldestPendingAt: null },
        { site: "north", pending: 0, deadLetters: 1, oldestPendingAt: null },
        { site: "south", pending: 0, deadLetters: 1, oldestPendingAt: null },
      ]);
    });
  });

  describe("purge", () => {
    it("deletes settled events and closed dead letters older than the cut-offs", async () => {
      const old = T0;
      const recent = T0 + 100_000;
      await store.ingest([
        eventItem(production("applied-old", "MO/1"), { receivedAt: old }),
        eventItem(production("dup-old", "MO/2"), { receivedAt: old }),
        eventItem(production("dead-open", "MO/3"), { receivedAt: old }),
        eventItem(production("dead-discarded", "MO/4"), { receivedAt: old }),
        eventItem(production("applied-recent", "MO/5"), { receivedAt: recent }),
        eventItem(production("pending-old", "MO/6"), { receivedAt: old }),
        rejectItem(rejection("input-open")),
        rejectItem(rejection("input-replayed")),
      ]);
      const rows = await lease("w", 5);
      const status = {
        "applied-old": "applied",
        "dup-old": "duplicate",
        "dead-open": "rejected",
        "dead-discarded": "rejected",
        "applied-recent": "applied",
      } as const;
      await store.settle(
        "w",
        rows.map((r) => {
          const s = status[r.eventId as keyof typeof status];
          return s === "rejected"
            ? { seq: r.seq, status: s, code: "unknown_order", message: "" }
            : { seq: r.seq, status: s };
        }),
      );
      const dls = await store.listDeadLetters();
      const byName = (n: string) => dls.find((d) => d.eventId === n || d.payload === n)!;
      await store.discardDeadLetter(byName("dead-discarded").id, "cancelled");
      await store.markReplayed(byName("input-replayed").id);

      const result = await store.purge({
        settledBefore: T0 + 50_000,
        closedDeadLettersBefore: Date.now() + 60_000,
      });
      expect(result).toEqual({ events: 3, deadLetters: 2 });
      expect(ids(await store.listMessages()).sort()).toEqual(
        ["applied-recent", "dead-open", "pending-old"].sort(),
      );
      const left = (await store.listDeadLetters()).map((d) => d.eventId ?? d.payload).sort();
      expect(left).toEqual(["dead-open", "input-open"]);
      expect(await store.purge({ settledBefore: 0, closedDeadLettersBefore: 0 })).toEqual({
        events: 0,
        deadLetters: 0,
      });
    });
    it("a discarded event purged from the trace can still be replayed from its dead letter", async () => {
      const event = production("a1", "MO/A");
      await store.ingest([eventItem(event, { origin: "line-3" })]);
      const [row] = await lease("w");
      await store.settle("w", [{ seq: row!.seq, status: "rejected", code: "schema", message: "" }]);
      const [dl] = await store.listDeadLetters();
      await store.discardDeadLetter(dl!.id, "later");
      expect(await store.purge({ settledBefore: T0 + 1, closedDeadLettersBefore: 0 })).toEqual({
        events: 1,
        deadLetters: 0,
      });
      expect(await store.listMessages()).toEqual([]);

      expect(await store.markReplayed(dl!.id)).toEqual({ requeued: true });
      const again = await lease("w2", 10, T0 + 10);
      expect(again).toMatchObject([
        { eventId: "a1", orderKey: "main/order/MO/A", origin: "line-3", attempts: 1, event },
      ]);
    });

    it("purges more rows than one batch holds", async () => {
      const n = 2 * 5000 + 1; // three purge batches
      const items = Array.from({ length: n }, (_, i) =>
        eventItem(production(`e${i}`, `MO/${i % 50}`), { receivedAt: T0 + i }),
      );
      await store.ingest(items);
      const rows = await store.lease({ owner: "w", limit: n, now: T0, leaseMs: 60_000 });
      expect(rows).toHaveLength(n);
      // the newest one stays unsettled: purge must go around it, not stop at it
      await store.settle(
        "w",
        rows.slice(0, -1).map((r) => ({ seq: r.seq, status: "applied" as const })),
      );
      const result = await store.purge({ settledBefore: T0 + n, closedDeadLettersBefore: 0 });
      expect(result).toEqual({ events: n - 1, deadLetters: 0 });
      expect(ids(await store.listMessages())).toEqual([`e${n - 1}`]);
    });
  });

  describe("listMessages", () => {
    it("filters by site, type, state and order key, newest first, with keyset paging", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("b1", "MO/B")),
        eventItem(production("a2", "MO/A")),
        eventItem(production("n1", "MO/A", { site: "north" })),
        {
          kind: "event",
          event: {
            id: "w1",
            type: "machine_status",
            site: "main",
            occurredAt: "2026-03-01T08:00:00Z",
            workcenter: "WC1",
            status: "down",
          },
          source: "sparkplug",
          origin: "spBv1.0/main/DDATA/edge/wc1",
          orderKey: "main/workcenter/WC1",
          receivedAt: T0,
        },
      ]);
      const [first] = await lease("w", 1);
      expect(first!.eventId).toBe("a1");

      expect(ids(await store.listMessages())).toEqual(["w1", "n1", "a2", "b1", "a1"]);
      expect(ids(await store.listMessages({ site: "north" }))).toEqual(["n1"]);
      expect(ids(await store.listMessages({ type: "machine_status" }))).toEqual(["w1"]);
      expect(ids(await store.listMessages({ state: "leased" }))).toEqual(["a1"]);
      expect(ids(await store.listMessages({ orderKey: "main/order/MO/A" }))).toEqual(["a2", "a1"]);
      expect(
        ids(await store.listMessages({ orderKey: "main/order/MO/A", state: "pending" })),
      ).toEqual(["a2"]);
      const page1 = await store.listMessages({ site: "main", limit: 2 });
      expect(ids(page1)).toEqual(["w1", "a2"]);
      const page2 = await store.listMessages({
        site: "main",
        limit: 2,
        beforeSeq: page1[1]!.seq,
      });
      expect(ids(page2)).toEqual(["b1", "a1"]);
      expect((await store.listMessages({ type: "machine_status" }))[0]).toMatchObject({
        source: "sparkplug",
        origin: "spBv1.0/main/DDATA/edge/wc1",
      });
    });
  });
}
