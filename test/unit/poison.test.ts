/**
 * The pieces of poison-message immunity that need no broker: the shape scan that refuses hostile
 * JSON before any recursive work, a merged commit that one caller's input cannot fail for the
 * others, and legacy rows whose mapping throws.
 */
import { checkJsonShape, DEFAULT_SHAPE_LIMITS } from "../../sidecar/src/canonical/shape.js";
import { createMessageParser } from "../../sidecar/src/canonical/parse.js";
import { guardRowMapper, type RowContext } from "../../sidecar/src/ingress/legacy/rows.js";
import { createGroupCommit } from "../../sidecar/src/pipeline/group-commit.js";

const ctx = { site: "main", source: "mqtt" as const, origin: "t" };

describe("the JSON shape scan", () => {
  it.each([
    ["100,000 levels of arrays", "[".repeat(100_000), "too_complex"],
    ["65 levels of objects", '{"a":'.repeat(65) + "1" + "}".repeat(65), "too_complex"],
    ["100,001 values", `[${"1,".repeat(100_000)}1]`, "too_complex"],
    ["a 300,000-character string", `{"a":"${"x".repeat(300_000)}"}`, "too_complex"],
    ["a 65-digit number", `{"q":${"9".repeat(65)}}`, "too_complex"],
    ["1e400", '{"q":1e400}', "schema"],
    ["-1e999", '{"q":-1e999}', "schema"],
  ])("refuses %s", (_what, text, code) => {
    expect(checkJsonShape(text)?.code).toBe(code);
  });

  it.each([
    ["64 levels", "[".repeat(64) + "]".repeat(64)],
    ["brackets and quotes inside strings", `{"a":"[[[[\\"{{{{"}`],
    ["100,000 values", `[${"1,".repeat(99_998)}1]`],
    ["text that is not JSON (left to the parser)", "RUN"],
    ["1e308", '{"q":1e308}'],
  ])("lets %s through", (_what, text) => {
    expect(checkJsonShape(text)).toBeUndefined();
  });

  it("is what the canonical parser applies before JSON.parse", () => {
    const parse = createMessageParser();
    const [item] = parse("[".repeat(DEFAULT_SHAPE_LIMITS.maxDepth + 1), ctx);
    expect(item).toMatchObject({ kind: "reject", rejection: { code: "too_complex" } });
    // a value whose methods would throw if called is described, never converted
    const [site] = parse('{"id":"x","type":"scrap","site":{"toString":1}}', ctx);
    expect(site).toMatchObject({ kind: "reject", rejection: { code: "unauthorized" } });
  });
});

describe("a merged commit", () => {
  it("lets a batch of dead letters alone wait for the good messages behind it (one commit, not two)", async () => {
    const commits: string[][] = [];
    const group = createGroupCommit<string, string>({
      commit: async (items) => {
        commits.push(items);
        return items.map((i) => `ok:${i}`);
      },
      linger: (items) => (items.every((i) => i.startsWith("dead")) ? 20 : 0),
    });
    const dead = group.submit(["dead-1"]);
    await new Promise((r) => setTimeout(r, 5)); // the good messages arrive a little later
    const good = group.submit(["good-1", "good-2"]);
    expect(await dead).toEqual(["ok:dead-1"]);
    expect(await good).toEqual(["ok:good-1", "ok:good-2"]);
    expect(commits).toEqual([["dead-1", "good-1", "good-2"]]);
    // a batch with a good message does not wait: the next one, 5 ms later, commits on its own
    const third = group.submit(["good-3"]);
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all([third, group.submit(["good-4"])]);
    expect(commits.slice(1)).toEqual([["good-3"], ["good-4"]]);
  });

  it("fails only the caller whose input the store refuses", async () => {
    const group = createGroupCommit<string, string>({
      commit: async (items) => {
        await new Promise((r) => setTimeout(r, 5));
        if (items.includes("poison")) throw new Error("store refuses poison");
        return items.map((i) => `ok:${i}`);
      },
    });
    const calls = ["a", "poison", "b", "c"].map((i) => group.submit([i]));
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : "failed"))).toEqual([
      ["ok:a"],
      "failed",
      ["ok:b"],
      ["ok:c"],
    ]);
  });

  it("stops trying callers one by one once two fail in a row (the store itself is down)", async () => {
    let commits = 0;
    const group = createGroupCommit<string, string>({
      commit: async () => {
        commits++;
        await new Promise((r) => setTimeout(r, 5));
        throw new Error("disk full");
      },
    });
    const first = group.submit(["warm-up"]); // in flight: the next ten merge behind it
    const rest = Array.from({ length: 10 }, (_, i) => group.submit([`e${i}`]));
    const settled = await Promise.allSettled([first, ...rest]);
    expect(settled.every((s) => s.status === "rejected")).toBe(true);
    // warm-up, the merged ten, then two alone before giving up
    expect(commits).toBe(4);
  });
});

describe("legacy rows whose mapping throws", () => {
  it("become an internal dead letter of that row; the others map", async () => {
    const mapper = guardRowMapper(async (row) => {
      if (row.bad) throw new TypeError("cannot read properties of undefined");
      return [];
    });
    const rowCtx: RowContext = {
      site: "main",
      source: "file",
      origin: "file:x.csv:3",
      key: "k",
      timezone: "UTC",
      receivedAt: 0,
    };
    expect(await mapper({ fine: 1 }, rowCtx)).toEqual([]);
    const [item] = await mapper({ bad: 1, big: 10n }, rowCtx);
    expect(item).toMatchObject({
      kind: "reject",
      rejection: { code: "internal", origin: "file:x.csv:3", payload: '{"bad":1,"big":"10"}' },
    });
    const sync = guardRowMapper(() => {
      throw new Error("thrown before any promise");
    });
    expect((await sync({}, rowCtx))[0]).toMatchObject({ rejection: { code: "internal" } });
  });
});
