/** Awkward values: they must never fail a group, and events and payloads come back exactly. */
import { type ContractContext, ids } from "./contract-context.js";
import {
  HOSTILE,
  T0,
  eventItem,
  hostileId,
  production,
  rejectItem,
  rejection,
} from "./fixtures.js";

export function inputContract({ store, lease }: ContractContext): void {
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
      expect(await store.purge({ settledBefore: T0 + 0.5, closedDeadLettersBefore: 1.5 })).toEqual({
        events: 0,
        deadLetters: 0,
      });
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
}
