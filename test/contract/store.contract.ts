/**
 * One contract for every `Store` implementation (STYLE.md "One abstract suite per interface").
 * Each test gets a fresh, empty store from the factory and asserts what a user would check:
 * the answers, the rows the trace shows, the dead letters, the stats.
 */
import type { Store } from "../../sidecar/src/store/types.js";
import {
  HOSTILE,
  T0,
  eventItem,
  hostileId,
  production,
  rejectItem,
  rejection,
} from "./fixtures.js";

export function defineStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const lease = (owner: string, limit = 100, now = T0, leaseMs = 60_000) =>
      store.lease({ owner, limit, now, leaseMs });
    const ids = (rows: { eventId: string }[]) => rows.map((r) => r.eventId);

    describe("ingest", () => {
      it("accepts new events in input order with increasing seqs", async () => {
        const results = await store.ingest([
          eventItem(production("e1")),
          eventItem(production("e2")),
          eventItem(production("e3")),
        ]);
        expect(results.map((r) => r.status)).toEqual(["accepted", "accepted", "accepted"]);
        const accepted = results.map((r) => (r.status === "accepted" ? r.seq : NaN));
        expect([...accepted].sort((a, b) => a - b)).toEqual(accepted);
        expect(new Set(accepted).size).toBe(3);
        const messages = await store.listMessages();
        expect(ids(messages)).toEqual(["e3", "e2", "e1"]);
        expect(messages[2]).toMatchObject({
          seq: accepted[0],
          site: "main",
          type: "production",
          state: "pending",
          attempts: 0,
          source: "mqtt",
          origin: "plant-bridge/v1/main/events",
          receivedAt: T0,
          settledAt: null,
          duplicates: 0,
          ref: null,
          lastCode: null,
          lastMessage: null,
          event: production("e1"),
        });
      });

      it("answers duplicate for a (site, id) seen in an earlier call and keeps the original", async () => {
        await store.ingest([eventItem(production("e1"))]);
        const again = await store.ingest([eventItem(production("e1", "WH/MO/00002"))]);
        expect(again).toEqual([{ status: "duplicate" }]);
        const [message] = await store.listMessages();
        expect(message).toMatchObject({ eventId: "e1", duplicates: 1, event: production("e1") });
        expect(await store.listMessages()).toHaveLength(1);
      });

      it("answers duplicate for a repeat within one call; the same id on another site is new", async () => {
        const other = production("e1", "WH/MO/00001", { site: "north" });
        const results = await store.ingest([
          eventItem(production("e1")),
          eventItem(production("e2")),
          eventItem(production("e1")),
          eventItem(other),
          eventItem(production("e1")),
        ]);
        expect(results.map((r) => r.status)).toEqual([
          "accepted",
          "accepted",
          "duplicate",
          "accepted",
          "duplicate",
        ]);
        const main = await store.listMessages({ site: "main" });
        expect(main.find((m) => m.eventId === "e1")?.duplicates).toBe(2);
        const north = await store.listMessages({ site: "north" });
        expect(north).toMatchObject([{ eventId: "e1", duplicates: 0 }]);
      });

      it("stores rejections as dead letters and counts a repeated fingerprint", async () => {
        const a = rejection("{not json");
        const b = rejection('{"id":"x"}', {
          code: "schema",
          message: "missing type",
          eventId: "x",
        });
        const first = await store.ingest([rejectItem(a, T0), rejectItem(a, T0 + 5), rejectItem(b)]);
        expect(first).toEqual([
          { status: "dead_letter", deadLetterId: expect.any(Number), repeated: false },
          { status: "dead_letter", deadLetterId: expect.any(Number), repeated: true },
          { status: "dead_letter", deadLetterId: expect.any(Number), repeated: false },
        ]);
        const idOf = (i: number) => (first[i] as { deadLetterId: number }).deadLetterId;
        expect(idOf(1)).toBe(idOf(0));
        expect(idOf(2)).not.toBe(idOf(0));
        const later = await store.ingest([rejectItem(a, T0 + 10)]);
        expect(later).toEqual([{ status: "dead_letter", deadLetterId: idOf(0), repeated: true }]);

        expect(await store.getDeadLetter(idOf(0))).toEqual({
          id: idOf(0),
          site: "main",
          eventId: null,
          code: "invalid_json",
          message: "payload is not JSON",
          payload: "{not json",
          payloadEncoding: "utf8",
          payloadSize: 9,
          source: "mqtt",
          origin: "plant-bridge/v1/main/events",
          fingerprint: a.fingerprint,
          repeats: 2,
          state: "open",
          createdAt: T0,
          updatedAt: T0 + 10,
          inInbox: false,
          note: null,
        });
        expect(await store.getDeadLetter(idOf(2))).toMatchObject({ eventId: "x", repeats: 0 });
        expect(await store.listMessages()).toEqual([]);
      });

      it("answers a mixed group item by item, in input order", async () => {
        const results = await store.ingest([
          rejectItem(rejection("a")),
          eventItem(production("e1")),
          eventItem(production("e1")),
          rejectItem(rejection("a")),
          eventItem(production("e2")),
        ]);
        expect(results.map((r) => r.status)).toEqual([
          "dead_letter",
          "accepted",
          "duplicate",
          "dead_letter",
          "accepted",
        ]);
        expect(results[3]).toMatchObject({ repeated: true });
      });

      it("accepts an empty group", async () => {
        expect(await store.ingest([])).toEqual([]);
      });
    });

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

    describe("dead letters from Odoo", () => {
      async function rejectFirst(): Promise<{ deadLetterId: number; seq: number }> {
        await store.ingest([
          eventItem(production("a1", "MO/A")),
          eventItem(production("a2", "MO/A")),
        ]);
        const [a1] = await lease("w1", 1);
        await store.settle("w1", [
          {
            seq: a1!.seq,
            status: "rejected",
            code: "unknown_order",
            message: "no MO/A",
            at: T0 + 3,
          },
        ]);
        const [dl] = await store.listDeadLetters();
        return { deadLetterId: dl!.id, seq: a1!.seq };
      }

      it("a rejected event is dead with a dead letter holding the event", async () => {
        const { deadLetterId, seq } = await rejectFirst();
        const event = production("a1", "MO/A");
        const payload = JSON.stringify(event);
        expect(await store.getDeadLetter(deadLetterId)).toMatchObject({
          site: "main",
          eventId: "a1",
          code: "unknown_order",
          message: "no MO/A",
          payloadEncoding: "utf8",
          payloadSize: Buffer.byteLength(payload),
          source: "mqtt",
          origin: "plant-bridge/v1/main/events",
          repeats: 0,
          state: "open",
          inInbox: true,
          createdAt: T0 + 3,
          note: null,
        });
        expect(JSON.parse((await store.getDeadLetter(deadLetterId))!.payload)).toEqual(event);
        const a1 = (await store.listMessages()).find((m) => m.seq === seq);
        expect(a1).toMatchObject({ state: "dead", lastCode: "unknown_order", settledAt: T0 + 3 });
        // dead is settled: the rest of the key flows
        expect(ids(await lease("w1"))).toEqual(["a2"]);
      });

      it("replay puts the event back to pending with zero attempts and it is leased again", async () => {
        const { deadLetterId, seq } = await rejectFirst();
        expect(await store.markReplayed(deadLetterId)).toEqual({ requeued: true });
        expect(await store.getDeadLetter(deadLetterId)).toMatchObject({ state: "replayed" });
        const a1 = (await store.listMessages()).find((m) => m.seq === seq);
        expect(a1).toMatchObject({ state: "pending", attempts: 0, settledAt: null });
        const again = await lease("w2", 1, T0 + 10);
        expect(again).toMatchObject([
          { seq, eventId: "a1", attempts: 1, event: production("a1", "MO/A") },
        ]);
      });

      it("a replay keeps the event's place: it leases before the later events of its key", async () => {
        await store.ingest([eventItem(production("a1", "MO/A"))]);
        const [a1] = await lease("w1", 1);
        await store.settle("w1", [
          { seq: a1!.seq, status: "rejected", code: "bad_quantity", message: "q" },
        ]);
        await store.ingest([eventItem(production("a2", "MO/A"))]);
        const [dl] = await store.listDeadLetters();
        await store.markReplayed(dl!.id);
        expect(ids(await lease("w2", 1))).toEqual(["a1"]);
        expect(await lease("w3")).toEqual([]);
      });

      it("an edited replay replaces the event; another site or id is refused", async () => {
        const { deadLetterId, seq } = await rejectFirst();
        const edited = production("a1", "MO/A", { quantity: 5, lot: "LOT-1" });
        await expect(
          store.markReplayed(deadLetterId, { ...edited, id: "a9" }),
        ).rejects.toMatchObject({
          code: "replay_mismatch",
        });
        await expect(
          store.markReplayed(deadLetterId, { ...edited, site: "north" }),
        ).rejects.toMatchObject({ code: "replay_mismatch" });
        expect(await store.getDeadLetter(deadLetterId)).toMatchObject({ state: "open" });

        expect(await store.markReplayed(deadLetterId, edited)).toEqual({ requeued: true });
        const [row] = await lease("w2", 1, T0 + 10);
        expect(row).toMatchObject({ seq, event: edited });
        const listed = (await store.listMessages()).find((m) => m.seq === seq);
        expect(listed?.event).toEqual(edited);
      });

      it("a replayed event rejected again reopens the same dead letter", async () => {
        const { deadLetterId, seq } = await rejectFirst();
        await store.markReplayed(deadLetterId);
        await lease("w2", 1, T0 + 10);
        await store.settle("w2", [
          { seq, status: "rejected", code: "state_conflict", message: "done", at: T0 + 20 },
        ]);
        const all = await store.listDeadLetters();
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({
          id: deadLetterId,
          state: "open",
          code: "state_conflict",
          repeats: 1,
          updatedAt: T0 + 20,
        });
      });

      it("replay of an input dead letter only marks it; states and ids are checked", async () => {
        const [result] = await store.ingest([rejectItem(rejection("garbage"))]);
        const id = (result as { deadLetterId: number }).deadLetterId;
        expect(await store.markReplayed(id)).toEqual({ requeued: false });
        expect(await store.getDeadLetter(id)).toMatchObject({ state: "replayed" });
        expect(await store.listMessages()).toEqual([]);
        await expect(store.markReplayed(id)).rejects.toMatchObject({ code: "state_conflict" });
        await expect(store.discardDeadLetter(id, "x")).rejects.toMatchObject({
          code: "state_conflict",
        });
        await expect(store.markReplayed(id + 1000)).rejects.toMatchObject({ code: "not_found" });
        await expect(store.discardDeadLetter(id + 1000, "x")).rejects.toMatchObject({
          code: "not_found",
        });
        expect(await store.getDeadLetter(id + 1000)).toBeUndefined();
      });

      it("discard keeps the reason and closes the dead letter", async () => {
        const { deadLetterId } = await rejectFirst();
        const before = Date.now();
        await store.discardDeadLetter(deadLetterId, "order was cancelled — “ok”");
        const dl = await store.getDeadLetter(deadLetterId);
        expect(dl).toMatchObject({ state: "discarded", note: "order was cancelled — “ok”" });
        expect(dl!.updatedAt).toBeGreaterThanOrEqual(before);
        expect((await store.stats()).sites).toMatchObject([{ site: "main", deadLetters: 0 }]);
      });

      it("lists dead letters newest first with filters and keyset paging", async () => {
        const results = await store.ingest([
          rejectItem(rejection("1")),
          rejectItem(rejection("2", { code: "schema" })),
          rejectItem(rejection("3", { site: "north" })),
          rejectItem(rejection("4")),
          rejectItem(rejection("5")),
        ]);
        const idAt = (i: number) => (results[i] as { deadLetterId: number }).deadLetterId;
        await store.discardDeadLetter(idAt(4), "noise");
        const payloads = (list: { payload: string }[]) => list.map((d) => d.payload);
        expect(payloads(await store.listDeadLetters())).toEqual(["5", "4", "3", "2", "1"]);
        expect(payloads(await store.listDeadLetters({ site: "north" }))).toEqual(["3"]);
        expect(payloads(await store.listDeadLetters({ code: "schema" }))).toEqual(["2"]);
        expect(payloads(await store.listDeadLetters({ state: "open", site: "main" }))).toEqual([
          "4",
          "2",
          "1",
        ]);
        const page1 = await store.listDeadLetters({ limit: 2 });
        expect(payloads(page1)).toEqual(["5", "4"]);
        const page2 = await store.listDeadLetters({ limit: 2, beforeId: page1[1]!.id });
        expect(payloads(page2)).toEqual(["3", "2"]);
      });
    });

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
        expect((await store.stats(T0)).sites).toEqual([
          { site: "main", pending: 2, deadLetters: 0, oldestPendingAt: T0 + 1000 },
          { site: "north", pending: 1, deadLetters: 0, oldestPendingAt: T0 + 3000 },
          { site: "south", pending: 0, deadLetters: 1, oldestPendingAt: null },
        ]);
        await store.settle("w", [{ seq: m1!.seq, status: "applied" }]);
        expect((await store.stats()).sites[0]).toEqual({
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
        expect((await store.stats()).sites).toEqual([
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
        await store.settle("w", [
          { seq: row!.seq, status: "rejected", code: "schema", message: "" },
        ]);
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
        expect(ids(await store.listMessages({ orderKey: "main/order/MO/A" }))).toEqual([
          "a2",
          "a1",
        ]);
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

    describe("time values", () => {
      it("stores fractional epoch milliseconds as whole milliseconds", async () => {
        await store.ingest([
          eventItem(production("a1", "MO/A"), { receivedAt: T0 + 0.7 }),
          rejectItem(rejection("x"), T0 + 0.2),
        ]);
        const [row] = await store.lease({ owner: "w", limit: 1, now: T0 + 0.5, leaseMs: 999.9 });
        expect(row).toMatchObject({ receivedAt: T0, leaseUntil: T0 + 999 });
        await store.settle("w", [
          { seq: row!.seq, status: "retry", retryAt: T0 + 2000.5, code: "x", message: "" },
        ]);
        expect(await lease("w", 1, T0 + 2000)).toMatchObject([{ eventId: "a1", attempts: 2 }]);
        const [dl] = await store.listDeadLetters();
        expect(dl).toMatchObject({ createdAt: T0, updatedAt: T0 });
        expect(
          await store.purge({ settledBefore: T0 + 0.5, closedDeadLettersBefore: 1.5 }),
        ).toEqual({ events: 0, deadLetters: 0 });
      });
    });

    describe("hostile input", () => {
      it("round-trips quotes, unicode, 200-character ids and big payloads exactly", async () => {
        const id = hostileId();
        expect([...id]).toHaveLength(200);
        const big = "🏭 \"quoted\" \\ 'single' ".repeat(12_000); // ~300 KB of UTF-8
        const event = production(id, HOSTILE, {
          lot: HOSTILE,
          attributes: { note: big, nested: { [HOSTILE]: [HOSTILE, 1.5, null, true] } },
        });
        const origin = `plant/${HOSTILE}/line`;
        const orderKey = `main/order/${HOSTILE}`;
        const [accepted] = await store.ingest([eventItem(event, { origin, orderKey })]);
        expect(accepted).toMatchObject({ status: "accepted" });
        expect(await store.ingest([eventItem(event, { origin, orderKey })])).toEqual([
          { status: "duplicate" },
        ]);

        const [row] = await lease("w");
        expect(row).toMatchObject({ eventId: id, origin, orderKey, event });
        expect(JSON.stringify(row!.event)).toBe(JSON.stringify(event));
        expect(ids(await store.listMessages({ orderKey }))).toEqual([id]);

        await store.settle("w", [
          { seq: row!.seq, status: "rejected", code: "unknown_order", message: HOSTILE },
        ]);
        const [dl] = await store.listDeadLetters();
        expect(dl).toMatchObject({ eventId: id, message: HOSTILE, origin });
        expect(dl!.payload).toBe(JSON.stringify(event));
        expect(dl!.payloadSize).toBe(Buffer.byteLength(JSON.stringify(event)));

        const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41]).toString("base64");
        const r = rejection(binary, {
          payloadEncoding: "base64",
          payloadSize: 5,
          message: HOSTILE,
        });
        const text = rejection(big, { eventId: id, origin });
        const [b, t] = await store.ingest([rejectItem(r), rejectItem(text)]);
        const got = await store.getDeadLetter((b as { deadLetterId: number }).deadLetterId);
        expect(got).toMatchObject({ payload: binary, payloadEncoding: "base64", payloadSize: 5 });
        const gotText = await store.getDeadLetter((t as { deadLetterId: number }).deadLetterId);
        expect(gotText).toMatchObject({
          payload: big,
          eventId: id,
          origin,
          fingerprint: text.fingerprint,
        });
      });

      it("takes U+0000 anywhere without failing the group; events and payloads keep it", async () => {
        // PostgreSQL text cannot hold U+0000: bad input carrying it must not wedge the queue.
        const event = production("nul", "WH\0MO", { lot: "\0" });
        const bad = rejection("x\0y", { message: "Unexpected token '\0'", eventId: "i\0d" });
        const results = await store.ingest([
          eventItem(event, { origin: "topic\0" }),
          rejectItem(bad),
          eventItem(production("after")),
        ]);
        expect(results.map((r) => r.status)).toEqual(["accepted", "dead_letter", "accepted"]);
        const rows = await lease("w");
        expect(rows.map((r) => r.event)).toEqual([event, production("after")]);
        const [dl] = await store.listDeadLetters();
        const bytes = Buffer.from(dl!.payload, dl!.payloadEncoding);
        expect(bytes).toEqual(Buffer.from("x\0y"));
        expect(dl!.payloadSize).toBe(3);
        expect(await store.ingest([rejectItem(bad)])).toMatchObject([{ repeated: true }]);
        expect(await store.ingest([eventItem(event)])).toEqual([{ status: "duplicate" }]);
      });
    });
  });
}
