/** Leases and settles: oldest first, one owner per row, per-key order, retries, expiry. */
import { type ContractContext, ids } from "./contract-context.js";
import { T0, eventItem, production } from "./fixtures.js";

export function leaseContract({ store, lease }: ContractContext): void {
  describe("lease and settle", () => {
    it("leases oldest first, counts attempts and hands each row to one owner", async () => {
      const events = ["a", "b", "c", "d", "e"].map((k) => production(k, `MO/${k}`));
      await store.ingest(events.map((e) => eventItem(e)));
      const first = await store.lease({ owner: "w1", limit: 3, now: T0, leaseMs: 1000 });
      expect(ids(first)).toEqual(["a", "b", "c"]);
      expect(first[0]).toMatchObject({
        site: "main",
        type: "production",
        orderKey: "main/order/MO/a",
        event: events[0],
        source: "mqtt",
        origin: "plant-bridge/v1/main/events",
        receivedAt: T0,
        attempts: 1,
        leaseOwner: "w1",
        leaseUntil: T0 + 1000,
      });
      expect(ids(await lease("w2"))).toEqual(["d", "e"]);
      expect(await lease("w3")).toEqual([]);
      expect((await store.listMessages()).map((m) => m.state)).toEqual(Array(5).fill("leased"));
    });

    it("leases only the requested sites", async () => {
      await store.ingest([
        eventItem(production("m1")),
        eventItem(production("n1", "MO/1", { site: "north" })),
      ]);
      const rows = await store.lease({
        owner: "w",
        limit: 10,
        now: T0,
        leaseMs: 1,
        sites: ["north"],
      });
      expect(ids(rows)).toEqual(["n1"]);
    });

    it("hands out a key's events as a contiguous prefix, never past a live lease", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("a2", "MO/A")),
        eventItem(production("b1", "MO/B")),
        eventItem(production("a3", "MO/A")),
      ]);
      const w1 = await lease("w1", 1);
      expect(ids(w1)).toEqual(["a1"]);
      expect(ids(await lease("w2"))).toEqual(["b1"]);
      await store.settle("w1", [{ seq: w1[0]!.seq, status: "applied", ref: "mrp.production,7" }]);
      expect(ids(await lease("w2", 1))).toEqual(["a2"]);
      expect(ids(await lease("w3"))).toEqual([]);
    });

    it("takes a whole key in one lease when the limit allows", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("a2", "MO/A")),
        eventItem(production("b1", "MO/B")),
        eventItem(production("a3", "MO/A")),
      ]);
      expect(ids(await lease("w1", 2))).toEqual(["a1", "a2"]);
      expect(ids(await lease("w2"))).toEqual(["b1"]);
    });

    it("a retry blocks the later events of its key, not other keys, until it is due", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("a2", "MO/A")),
        eventItem(production("b1", "MO/B")),
      ]);
      const [a1] = await lease("w1", 1);
      await store.settle("w1", [
        { seq: a1!.seq, status: "retry", retryAt: T0 + 5000, code: "odoo_down", message: "503" },
      ]);
      expect(await store.listMessages({ state: "pending" })).toContainEqual(
        expect.objectContaining({ eventId: "a1", lastCode: "odoo_down", lastMessage: "503" }),
      );
      expect(ids(await lease("w2", 10, T0 + 1000))).toEqual(["b1"]);
      expect(ids(await lease("w2", 10, T0 + 4999))).toEqual([]);
      const due = await lease("w3", 10, T0 + 5000);
      expect(due.map((r) => [r.eventId, r.attempts])).toEqual([
        ["a1", 2],
        ["a2", 1],
      ]);
    });

    it("takes over an expired lease and ignores the late settle of the first owner", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("a2", "MO/A")),
      ]);
      const [first] = await store.lease({ owner: "w1", limit: 1, now: T0, leaseMs: 1000 });
      expect(await store.lease({ owner: "w2", limit: 10, now: T0 + 999, leaseMs: 1000 })).toEqual(
        [],
      );
      const taken = await store.lease({ owner: "w2", limit: 1, now: T0 + 1000, leaseMs: 1000 });
      expect(taken).toMatchObject([
        { seq: first!.seq, attempts: 2, leaseOwner: "w2", leaseUntil: T0 + 2000 },
      ]);
      await store.settle("w1", [{ seq: first!.seq, status: "applied", ref: "stale" }]);
      const [a1] = await store.listMessages({ state: "leased" });
      expect(a1).toMatchObject({ eventId: "a1", state: "leased", ref: null });

      await store.settle("w2", [
        { seq: first!.seq, status: "duplicate", ref: "r2", at: T0 + 1500 },
      ]);
      const settled = (await store.listMessages()).find((m) => m.eventId === "a1");
      expect(settled).toMatchObject({ state: "duplicate", ref: "r2", settledAt: T0 + 1500 });
      expect(ids(await lease("w1", 10, T0 + 1600))).toEqual(["a2"]);
    });

    it("names the owners of running leases, not of expired ones", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("b1", "MO/B")),
      ]);
      await store.lease({ owner: "w1", limit: 1, now: T0, leaseMs: 1000 });
      await store.lease({ owner: "w2", limit: 1, now: T0, leaseMs: 5000 });
      expect((await store.leaseHolders(T0 + 500)).sort()).toEqual(["w1", "w2"]);
      expect(await store.leaseHolders(T0 + 1000)).toEqual(["w2"]);
    });

    it("expedites the leases of a dead owner: its key goes on at once, in order", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("a2", "MO/A")),
        eventItem(production("b1", "MO/B")),
      ]);
      expect(ids(await lease("dead", 1))).toEqual(["a1"]);
      expect(ids(await lease("live", 1))).toEqual(["b1"]);
      expect(ids(await lease("w2", 10, T0 + 10))).toEqual([]); // a1's lease holds MO/A back
      expect(await store.expedite({ now: T0 + 20, owners: ["dead", "unknown"] })).toBe(1);
      const taken = await lease("w2", 10, T0 + 20);
      expect(taken.map((r) => [r.eventId, r.attempts])).toEqual([
        ["a1", 2],
        ["a2", 1],
      ]);
      // the live owner's lease is untouched
      expect(await store.leaseHolders(T0 + 20)).toEqual(expect.arrayContaining(["live", "w2"]));
      expect(await store.leaseHolders(T0 + 20)).not.toContain("dead");
    });

    it("expedites the retries of the given codes only, and of the given sites", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("b1", "MO/B")),
        eventItem(production("n1", "MO/N", { site: "north" })),
      ]);
      const rows = await lease("w1");
      const retry = (eventId: string, code: string) => ({
        seq: rows.find((r) => r.eventId === eventId)!.seq,
        status: "retry" as const,
        retryAt: T0 + 60_000,
        code,
        message: "m",
      });
      await store.settle("w1", [
        retry("a1", "odoo_unreachable"),
        retry("b1", "order_not_ready"),
        retry("n1", "odoo_unreachable"),
      ]);
      expect(
        await store.expedite({ now: T0 + 100, codes: ["odoo_unreachable"], sites: ["main"] }),
      ).toBe(1);
      expect(ids(await lease("w2", 10, T0 + 100))).toEqual(["a1"]);
      // a row already due is not counted again
      expect(await store.expedite({ now: T0 + 100, codes: ["odoo_unreachable"] })).toBe(1);
      expect(ids(await lease("w3", 10, T0 + 100))).toEqual(["n1"]);
    });

    it("moves the waits of unsettled rows with a clock step", async () => {
      await store.ingest([
        eventItem(production("a1", "MO/A")),
        eventItem(production("b1", "MO/B")),
        eventItem(production("c1", "MO/C")),
      ]);
      const rows = await lease("w1", 2); // a1 retries, b1 stays leased
      await lease("w2", 1, T0, 5000); // c1: a lease that ends at T0 + 5 s
      await store.settle("w1", [
        { seq: rows[0]!.seq, status: "retry", retryAt: T0 + 10_000, code: "x", message: "" },
      ]);
      // the clock was set back by an hour: T0 - 3,600,000 is "now" again
      const now = T0 - 3_600_000;
      expect(await store.shiftWaits(-3_600_000, now)).toBe(3);
      // each keeps what was left of its wait: c1's lease 5 s, a1's retry 10 s, b1's lease 60 s
      expect(ids(await lease("w3", 10, now + 4_999))).toEqual([]);
      expect(ids(await lease("w3", 10, now + 5_000))).toEqual(["c1"]);
      expect(ids(await lease("w4", 10, now + 9_999))).toEqual([]);
      expect(ids(await lease("w4", 10, now + 10_000))).toEqual(["a1"]);
      expect(ids(await lease("w5", 10, now + 60_000))).toEqual(["b1"]);
    });

    it("records applied with its reference and settle time", async () => {
      await store.ingest([eventItem(production("a1"))]);
      const [row] = await lease("w1");
      await store.settle("w1", [
        { seq: row!.seq, status: "applied", ref: "mrp.production,42", at: T0 + 7 },
      ]);
      expect((await store.listMessages())[0]).toMatchObject({
        state: "applied",
        attempts: 1,
        ref: "mrp.production,42",
        settledAt: T0 + 7,
      });
      expect(await lease("w2", 10, T0 + 10_000_000)).toEqual([]);
    });
  });
}
