/** Events Odoo rejects: dead letters, replay (as is or edited), discard, listing. */
import { inboxFingerprint } from "../../sidecar/src/store/common.js";
import { type ContractContext, ids } from "./contract-context.js";
import { T0, eventItem, production, rejectItem, rejection } from "./fixtures.js";

export function deadLetterContract({ store, lease }: ContractContext): void {
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
        fingerprint: inboxFingerprint("main", "a1"),
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
      await expect(store.markReplayed(deadLetterId, { ...edited, id: "a9" })).rejects.toMatchObject(
        {
          code: "replay_mismatch",
        },
      );
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

    it("bounds open dead letters per site and code: the oldest are evicted and counted", async () => {
      const bad = (i: number, code: "invalid_json" | "schema", site = "main") =>
        rejectItem(rejection(`bad ${i}`, { code, site }));
      await store.ingest([
        ...Array.from({ length: 6 }, (_, i) => bad(i, "invalid_json")),
        ...Array.from({ length: 2 }, (_, i) => bad(i, "schema")),
        ...Array.from({ length: 4 }, (_, i) => bad(i, "invalid_json", "north")),
      ]);
      // a closed dead letter does not count against the budget
      const [newest] = await store.listDeadLetters({ site: "main", code: "schema" });
      await store.discardDeadLetter(newest!.id, "seen");

      expect(await store.trimDeadLetters(3, T0 + 5)).toEqual(
        expect.arrayContaining([
          { site: "main", code: "invalid_json", evicted: 3, at: T0 + 5 },
          { site: "north", code: "invalid_json", evicted: 1, at: T0 + 5 },
        ]),
      );
      const kept = await store.listDeadLetters({ site: "main", code: "invalid_json" });
      expect(kept.map((d) => d.payload).sort()).toEqual(["bad 3", "bad 4", "bad 5"]);
      expect(await store.listDeadLetters({ site: "main", code: "schema" })).toHaveLength(2);
      expect(await store.trimDeadLetters(3, T0 + 6)).toEqual([]);

      await store.ingest([bad(7, "invalid_json"), bad(8, "invalid_json")]);
      await store.trimDeadLetters(3, T0 + 9);
      expect(await store.listEvictions()).toEqual([
        { site: "main", code: "invalid_json", evicted: 5, at: T0 + 9 },
        { site: "north", code: "invalid_json", evicted: 1, at: T0 + 5 },
      ]);
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

    it("lists forward after an id, oldest first, and filters Odoo rejections from bad input", async () => {
      const first = await store.ingest([
        rejectItem(rejection("r1")),
        rejectItem(rejection("r2", { site: "north" })),
        eventItem(production("a1", "MO/A")),
      ]);
      const [a1] = await lease("w1");
      await store.settle("w1", [
        { seq: a1!.seq, status: "rejected", code: "unknown_order", message: "no MO/A" },
      ]);
      await store.ingest([rejectItem(rejection("r3"))]);
      const names = (list: { eventId: string | null; payload: string }[]) =>
        list.map((d) => d.eventId ?? d.payload);
      expect(names(await store.listDeadLetters())).toEqual(["r3", "a1", "r2", "r1"]);
      expect(names(await store.listDeadLetters({ afterId: 0 }))).toEqual(["r1", "r2", "a1", "r3"]);
      const r2 = (first[1] as { deadLetterId: number }).deadLetterId;
      expect(names(await store.listDeadLetters({ afterId: r2 }))).toEqual(["a1", "r3"]);

      // a cursor walking one row at a time sees each dead letter once, in order
      const seen: string[] = [];
      for (let cursor = 0; ;) {
        const [next, ...more] = await store.listDeadLetters({ afterId: cursor, limit: 1 });
        expect(more).toEqual([]);
        if (!next) break;
        seen.push(names([next])[0]!);
        cursor = next.id;
      }
      expect(seen).toEqual(["r1", "r2", "a1", "r3"]);

      expect(names(await store.listDeadLetters({ inInbox: true }))).toEqual(["a1"]);
      expect(names(await store.listDeadLetters({ inInbox: false }))).toEqual(["r3", "r2", "r1"]);
      const forwardInput = await store.listDeadLetters({
        inInbox: false,
        afterId: 0,
        site: "main",
      });
      expect(names(forwardInput)).toEqual(["r1", "r3"]);
      const [dl] = await store.listDeadLetters({ inInbox: true });
      expect(names(await store.listDeadLetters({ afterId: dl!.id, inInbox: true }))).toEqual([]);
      expect(names(await store.listDeadLetters({ afterId: 0, beforeId: dl!.id }))).toEqual([
        "r1",
        "r2",
      ]);

      // Odoo's exception queue names a sidecar-side rejection by its fingerprint
      const [r3] = await store.listDeadLetters({ inInbox: false, limit: 1 });
      expect(names(await store.listDeadLetters({ fingerprint: r3!.fingerprint }))).toEqual(["r3"]);
      expect(await store.listDeadLetters({ fingerprint: "0".repeat(64) })).toEqual([]);
    });
  });
}
