/**
 * Priority lanes: critical events are leased ahead of an older bulk backlog, bulk keeps a share
 * of every full batch, and a business object's events still go out in order.
 */
import { type ContractContext, ids } from "./contract-context.js";
import { T0, eventItem, machineStatus, maintenance, production } from "./fixtures.js";

export function lanesContract({ store, lease }: ContractContext): void {
  describe("priority lanes", () => {
    it("leases a production event ahead of an older bulk backlog", async () => {
      await store.ingest(
        Array.from({ length: 50 }, (_, i) => eventItem(machineStatus(`ms${i}`, `WC${i % 5}`))),
      );
      await store.ingest([eventItem(production("p1", "MO/1"))]);
      const rows = await lease("w1", 10);
      expect(rows[0]).toMatchObject({ eventId: "p1", lane: "critical" });
      expect(ids(rows.slice(1))).toEqual(Array.from({ length: 9 }, (_, i) => `ms${i}`));
      expect(rows[1]).toMatchObject({ lane: "bulk" });
    });

    it("keeps a share of a full batch for the oldest bulk events under a critical flood", async () => {
      await store.ingest(Array.from({ length: 5 }, (_, i) => eventItem(machineStatus(`ms${i}`))));
      await store.ingest(
        Array.from({ length: 30 }, (_, i) => eventItem(production(`p${i}`, `MO/${i}`))),
      );
      const rows = await store.lease({ owner: "w", limit: 20, now: T0, leaseMs: 1000 });
      expect(rows.filter((r) => r.lane === "critical")).toHaveLength(18);
      expect(ids(rows.filter((r) => r.lane === "bulk"))).toEqual(["ms0", "ms1"]);
    });

    it("takes the bulk events a critical event of the same object waits behind, in order", async () => {
      await store.ingest([
        eventItem(machineStatus("ms1", "WC1")),
        eventItem(machineStatus("ms2", "WC2")),
        eventItem(machineStatus("ms3", "WC1")),
        eventItem(maintenance("m4", "WC1")),
        eventItem(machineStatus("ms5", "WC1")),
      ]);
      // FIFO would lease ms1, ms2, ms3; the maintenance request pulls its work center's earlier
      // states along, never past them.
      expect(ids(await lease("w1", 3))).toEqual(["ms1", "ms3", "m4"]);
      expect(ids(await lease("w2", 1))).toEqual(["ms2"]);
      // ms5 waits for its work center's leased events
      expect(ids(await lease("w3"))).toEqual([]);
    });

    it("never leases a critical event ahead of a bulk event of its object that another worker holds", async () => {
      await store.ingest([eventItem(machineStatus("ms1", "WC1"))]);
      expect(ids(await lease("w1", 1))).toEqual(["ms1"]);
      await store.ingest([eventItem(maintenance("m2", "WC1")), eventItem(production("p3"))]);
      expect(ids(await lease("w2"))).toEqual(["p3"]);
    });

    it("leases in arrival order when lanes are off", async () => {
      await store.ingest(Array.from({ length: 3 }, (_, i) => eventItem(machineStatus(`ms${i}`))));
      await store.ingest([eventItem(production("p1"))]);
      const rows = await store.lease({ owner: "w", limit: 2, now: T0, leaseMs: 1, lanes: false });
      expect(ids(rows)).toEqual(["ms0", "ms1"]);
    });

    it("counts each lane's backlog and its oldest event per site", async () => {
      await store.ingest([
        eventItem(machineStatus("ms1"), { receivedAt: T0 }),
        eventItem(machineStatus("ms2"), { receivedAt: T0 + 5 }),
        eventItem(production("p1"), { receivedAt: T0 + 10 }),
      ]);
      const [p1] = (await lease("w", 100)).filter((r) => r.eventId === "p1");
      expect((await store.stats()).sites).toEqual([
        {
          site: "main",
          pending: 3,
          deadLetters: 0,
          oldestPendingAt: T0,
          lanes: [
            { lane: "critical", pending: 1, oldestPendingAt: T0 + 10 },
            { lane: "bulk", pending: 2, oldestPendingAt: T0 },
          ],
          held: 0,
          heldUntil: null,
        },
      ]);
      await store.settle("w", [{ seq: p1!.seq, status: "applied" }]);
      expect((await store.stats()).sites[0]!.lanes).toEqual([
        { lane: "critical", pending: 0, oldestPendingAt: null },
        { lane: "bulk", pending: 2, oldestPendingAt: T0 },
      ]);
    });
  });
}

export function heldContract({ store, lease }: ContractContext): void {
  describe("events held by a posting window", () => {
    it("counts them as waiting, with the earliest time one of them posts", async () => {
      await store.ingest([
        eventItem(production("p1", "MO/1")),
        eventItem(production("p2", "MO/2")),
        eventItem(production("p3", "MO/3")),
      ]);
      const [p1, p2, p3] = await lease("w", 3);
      await store.settle("w", [
        { seq: p1!.seq, status: "retry", retryAt: T0 + 9000, code: "held", message: "window" },
        { seq: p2!.seq, status: "retry", retryAt: T0 + 5000, code: "held", message: "window" },
        { seq: p3!.seq, status: "retry", retryAt: T0 + 1000, code: "odoo_down", message: "503" },
      ]);
      expect((await store.stats(T0)).sites).toMatchObject([
        { site: "main", pending: 3, held: 2, heldUntil: T0 + 5000 },
      ]);
      // a changed window lets them go at once
      expect(await store.expedite({ now: T0, codes: ["held"] })).toBe(2);
      expect(ids(await lease("w2", 10, T0))).toEqual(["p1", "p2"]);
      expect((await store.stats(T0)).sites).toMatchObject([{ held: 0, heldUntil: null }]);
    });
  });
}
