/**
 * Durable key/value state: committed with the ingested items or not at all (watermarks,
 * reported dead letters, aggregation counters), compare-and-set, prefix listing, limits.
 */
import { PlantBridgeError } from "../../sidecar/src/errors.js";
import type { StateWrite } from "../../sidecar/src/store/types.js";
import { type ContractContext, ids } from "./contract-context.js";
import { HOSTILE, eventItem, production, rejectItem, rejection } from "./fixtures.js";

export function stateContract({ store }: ContractContext): void {
  /** Every state entry as key -> value, to compare whole contents. */
  async function allState(): Promise<Record<string, string>> {
    const entries = await store.listState("");
    return Object.fromEntries(entries.map((e) => [e.key, e.value]));
  }

  async function expectRefused(writes: StateWrite[], code: string, kind: string): Promise<void> {
    const call = store.ingest([eventItem(production("x")), rejectItem(rejection("bad"))], {
      state: writes,
    });
    await expect(call).rejects.toBeInstanceOf(PlantBridgeError);
    await expect(call).rejects.toMatchObject({ code, kind });
  }

  /** Nothing of a refused call may be visible: no event, no dead letter, no site. */
  async function expectNothingOfX(): Promise<void> {
    expect(ids(await store.listMessages())).not.toContain("x");
    expect((await store.listDeadLetters()).map((d) => d.payload)).not.toContain("bad");
  }

  describe("state", () => {
    it("commits state with the items of the same call", async () => {
      const before = Date.now();
      const results = await store.ingest(
        [eventItem(production("e1")), rejectItem(rejection("junk"))],
        { state: [{ key: "sql/line1/watermark", value: "2026-03-01T08:00:00Z#17" }] },
      );
      const after = Date.now();
      expect(results.map((r) => r.status)).toEqual(["accepted", "dead_letter"]);
      expect(await store.getState("sql/line1/watermark")).toBe("2026-03-01T08:00:00Z#17");
      const [entry, ...rest] = await store.listState("sql/");
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({ key: "sql/line1/watermark", value: "2026-03-01T08:00:00Z#17" });
      expect(entry!.updatedAt).toBeGreaterThanOrEqual(before);
      expect(entry!.updatedAt).toBeLessThanOrEqual(after);
      expect(await store.getState("sql/line2/watermark")).toBeUndefined();
      // the call shape without options still works
      expect(await store.ingest([eventItem(production("e2"))])).toMatchObject([
        { status: "accepted" },
      ]);
      expect(ids(await store.listMessages())).toEqual(["e2", "e1"]);
    });

    it("writes without items, overwrites, deletes with null; the last write of a key wins", async () => {
      expect(await store.ingest([], { state: [{ key: "agg/count", value: "1" }] })).toEqual([]);
      expect(await store.getState("agg/count")).toBe("1");
      await store.setState([
        { key: "agg/count", value: "2" },
        { key: "agg/window", value: "{}" },
        { key: "agg/count", value: "3" },
        { key: "agg/empty", value: "" },
        { key: "agg/gone", value: null },
      ]);
      expect(await allState()).toEqual({ "agg/count": "3", "agg/window": "{}", "agg/empty": "" });
      await store.setState([
        { key: "agg/window", value: null },
        { key: "agg/empty", value: null },
        { key: "agg/new", value: "x" },
        { key: "agg/new", value: null },
      ]);
      expect(await allState()).toEqual({ "agg/count": "3" });
      expect(await store.getState("agg/window")).toBeUndefined();
      expect(await store.listMessages()).toEqual([]);
      expect((await store.stats()).sites).toEqual([]);
    });

    it("lists a prefix literally, in code point order, over the whole key space", async () => {
      const keys = [
        "a",
        "a/1",
        "a/10",
        "a/2",
        "a/🏭",
        "a/\uFFFD",
        "a/\u{10FFFF}",
        "a/\u{10FFFF}z",
        "a0",
        "a%",
        "a_b",
        "A/1",
        "ab",
        "b",
        HOSTILE,
      ];
      await store.setState(keys.map((key, i) => ({ key, value: `v${i}` })));
      const listed = async (prefix: string) => (await store.listState(prefix)).map((e) => e.key);
      expect(await listed("a/")).toEqual([
        "a/1",
        "a/10",
        "a/2",
        "a/\uFFFD",
        "a/🏭",
        "a/\u{10FFFF}",
        "a/\u{10FFFF}z",
      ]);
      expect(await listed("a/\u{10FFFF}")).toEqual(["a/\u{10FFFF}", "a/\u{10FFFF}z"]);
      expect(await listed("a%")).toEqual(["a%"]);
      expect(await listed("a_")).toEqual(["a_b"]);
      expect(await listed("A")).toEqual(["A/1"]);
      expect(await listed(HOSTILE.slice(0, 12))).toEqual([HOSTILE]);
      expect(await listed("c")).toEqual([]);
      expect(await listed("a\0")).toEqual([]);
      const all = await listed("");
      expect(all).toHaveLength(keys.length);
      expect(all.slice(0, 2)).toEqual([HOSTILE, "A/1"]); // "'" < "A" < "a"
      expect((await store.listState("a/1"))[0]).toMatchObject({ key: "a/1", value: "v1" });
    });

    it("keeps values exactly: unicode, U+0000, and a full MiB", async () => {
      const mib = "🏭".repeat(256 * 1024); // 4 bytes each: exactly 1 MiB of UTF-8
      const values: Record<string, string> = {
        hostile: HOSTILE,
        nul: "a\0b\0",
        json: JSON.stringify({ n: 1, s: HOSTILE, nested: [null, true, 1.5] }),
        mib,
      };
      await store.setState(Object.entries(values).map(([key, value]) => ({ key, value })));
      for (const [key, value] of Object.entries(values)) {
        expect(await store.getState(key)).toBe(value);
      }
      expect(await allState()).toEqual(values);
    });

    it("a failed compare-and-set fails the whole call and commits nothing", async () => {
      await store.setState([{ key: "wm", value: "5" }]);
      await expectRefused(
        [
          { key: "other", value: "written?" },
          { key: "wm", value: "6", expect: "4" },
        ],
        "state_conflict",
        "transient",
      );
      await expectRefused([{ key: "wm", value: "6", expect: null }], "state_conflict", "transient");
      await expectRefused(
        [{ key: "nope", value: null, expect: "1" }],
        "state_conflict",
        "transient",
      );
      await expectNothingOfX();
      expect(await allState()).toEqual({ wm: "5" });
      expect((await store.stats()).sites).toEqual([]);
      await expect(store.setState([{ key: "wm", value: null, expect: "0" }])).rejects.toMatchObject(
        { code: "state_conflict" },
      );
      expect(await store.getState("wm")).toBe("5");
    });

    it("a holding compare-and-set commits; each expect sees the writes before it", async () => {
      await store.setState([{ key: "wm", value: "5" }]);
      const results = await store.ingest([eventItem(production("e6"))], {
        state: [
          { key: "wm", value: "6", expect: "5" },
          { key: "wm", value: "7", expect: "6" },
          { key: "fresh", value: "1", expect: null },
          { key: "fresh", value: null, expect: "1" },
          { key: "fresh", value: "2", expect: null },
        ],
      });
      expect(results).toMatchObject([{ status: "accepted" }]);
      expect(await allState()).toEqual({ wm: "7", fresh: "2" });
      await store.setState([{ key: "wm", value: null, expect: "7" }]);
      expect(await allState()).toEqual({ fresh: "2" });
      // the order inside a call matters: checked against "5" after the write of "5"
      await store.setState([
        { key: "wm", value: "5" },
        { key: "wm", value: "8", expect: "5" },
      ]);
      expect(await store.getState("wm")).toBe("8");
    });

    it("refuses keys and values it cannot keep, before writing anything", async () => {
      const key200 = "🏭".repeat(100) + "k".repeat(100); // 200 characters, 300 UTF-16 units
      await store.setState([{ key: key200, value: "ok" }]);
      expect(await store.getState(key200)).toBe("ok");
      expect(await store.listState("🏭")).toMatchObject([{ key: key200, value: "ok" }]);

      await expectRefused([{ key: `${key200}k`, value: "v" }], "too_large", "permanent");
      const overMib = "x".repeat(1024 * 1024 - 1) + "é"; // 1 MiB + 1 byte
      await expectRefused([{ key: "big", value: overMib }], "too_large", "permanent");
      await expectRefused([{ key: "", value: "v" }], "invalid_state_key", "permanent");
      await expectRefused([{ key: "a\0b", value: "v" }], "invalid_state_key", "permanent");
      await expectNothingOfX();
      expect(await allState()).toEqual({ [key200]: "ok" });
      expect(await store.getState("a\0b")).toBeUndefined();
    });
  });
}
