/** What `ingest` answers and keeps: accepted events, duplicates, dead letters of bad input. */
import { type ContractContext, ids } from "./contract-context.js";
import { T0, eventItem, production, rejectItem, rejection } from "./fixtures.js";

export function ingestContract({ store }: ContractContext): void {
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
}
