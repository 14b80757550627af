import fc from "fast-check";
import { restoreDottedTopic, topicMatches } from "../../sidecar/src/canonical/topics.js";
import { createSampleRing, rowColumns } from "../../sidecar/src/pipeline/mapping/samples.js";
import { compileSelector } from "../../sidecar/src/mapping-core/selector.js";

describe("mapping selectors", () => {
  it("exposes named segments and subscribes with + and #", () => {
    const s = compileSelector("plant/{site}/{line}/{machine}/status");
    expect(s.filter).toBe("plant/+/+/+/status");
    expect(s.names).toEqual(["site", "line", "machine"]);
    expect(s.match("plant/main/l1/press-4/status")).toEqual({
      site: "main",
      line: "l1",
      machine: "press-4",
    });
    expect(s.match("plant/main/l1/press-4/counters")).toBeUndefined();
    expect(s.match("plant/main/l1/status")).toBeUndefined();
  });

  it("names the rest of a topic with {name#} and matches like #", () => {
    const s = compileSelector("acme/{site}/{path#}");
    expect(s.filter).toBe("acme/+/#");
    expect(s.match("acme/main/a/b/c")).toEqual({ site: "main", path: "a/b/c" });
    expect(s.match("acme/main")).toEqual({ site: "main", path: "" });
  });

  it.each([
    ["a/#/b", "# must be the last"],
    ["a/{x#}/b", "must be the last level"],
    ["a/{x}/{x}", "appears twice"],
    ["a/{not a name}", "is not a name"],
    ["a/b+/c", "mixes text and wildcards"],
    ["", "empty"],
  ])("refuses %j", (pattern, why) => {
    expect(() => compileSelector(pattern)).toThrow(why);
  });

  it("selects exactly the topics its MQTT filter selects", () => {
    const level = fc.constantFrom("a", "b", "c", "$sys", "");
    const patternLevel = fc.constantFrom("a", "b", "+", "{x}", "{y}", "{z}");
    fc.assert(
      fc.property(
        fc.array(patternLevel, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(level, { minLength: 1, maxLength: 6 }),
        (levels, rest, topicLevels) => {
          const unique = levels.map((l, i) => (l.startsWith("{") ? `{v${i}}` : l));
          const pattern = [...unique, ...(rest ? ["#"] : [])].join("/");
          const selector = compileSelector(pattern);
          const topic = topicLevels.join("/");
          expect(selector.match(topic) !== undefined).toBe(topicMatches(selector.filter, topic));
        },
      ),
    );
  });
});

describe("recent samples", () => {
  it("keeps the newest messages per topic, bounded in topics, count, size and rate", () => {
    const ring = createSampleRing({ maxTopics: 2, perTopic: 2, maxBytes: 8, minIntervalMs: 100 });
    const at = Date.parse("2026-11-26T08:00:00Z");
    ring.record("a/1", Buffer.from('{"n":1}'), at);
    ring.record("a/1", Buffer.from('{"n":2}'), at + 50); // too soon: skipped
    ring.record("a/1", Buffer.from('{"n":3}'), at + 100);
    ring.record("a/1", Buffer.from('{"n":4}'), at + 200);
    ring.record("b/1", Buffer.from([0xff, 0x00]), at + 300);
    ring.record("c/1", Buffer.from('{"long": "more than eight bytes"}'), at + 400);
    expect(ring.topics().map((t) => t.topic)).toEqual(["c/1", "b/1"]); // a/1 forgotten
    expect(ring.list({ selector: "+/1" })).toEqual([
      expect.objectContaining({ topic: "c/1", payload: '{"long":', truncated: true, size: 33 }),
      expect.objectContaining({ topic: "b/1", payload: "/wA=", encoding: "base64" }),
    ]);
    ring.record("b/1", Buffer.from('{"n":5}'), at + 500);
    ring.record("b/1", Buffer.from('{"n":6}'), at + 600);
    expect(ring.list({ selector: "{x}/1" }).map((s) => s.payload)).toEqual([
      '{"n":6}',
      '{"n":5}',
      '{"long":',
    ]);
    expect(ring.takeNew().map((s) => [s.topic, s.payload])).toEqual([
      ["b/1", '{"n":6}'],
      ["c/1", '{"long":'],
    ]);
    expect(ring.takeNew()).toEqual([]);
  });

  it("keeps the last rows of a legacy connector, all of them reported, bounded per connector", () => {
    const ring = createSampleRing({ rowsPerConnector: 3, minIntervalMs: 1000 });
    const at = Date.parse("2026-11-26T08:00:00Z");
    const row = { source: "file" as const, site: "main", connectorId: 4, connector: "MES export" };
    // one file read at once: every row arrives at the same time
    for (let line = 2; line <= 6; line++)
      ring.record(`file:mes.csv:${line}`, Buffer.from(`{"line":${line}}`), at, { row });
    ring.record("file:other.csv:2", Buffer.from('{"line":2}'), at, {
      row: { ...row, connectorId: 5, connector: "Other" },
    });
    expect(ring.list({ connector: 4 }).map((s) => s.topic)).toEqual([
      "file:mes.csv:6",
      "file:mes.csv:5",
      "file:mes.csv:4",
    ]);
    expect(ring.takeNew().map((s) => s.topic)).toEqual([
      "file:mes.csv:4",
      "file:mes.csv:5",
      "file:mes.csv:6",
      "file:other.csv:2",
    ]);
    expect(ring.takeNew()).toEqual([]);
    // a topic keeps its rate limit
    ring.record("a/1", Buffer.from("1"), at);
    ring.record("a/1", Buffer.from("2"), at + 10);
    expect(ring.list({ selector: "a/1" }).map((s) => s.payload)).toEqual(["1"]);
  });

  it("names the columns of rows, those of the newest row first", () => {
    const ring = createSampleRing();
    const row = { source: "sql" as const, site: "main", connectorId: 7, connector: "MES log" };
    const at = Date.parse("2026-11-26T08:00:00Z");
    ring.record("sql:prod_log:1", Buffer.from('{"id":1,"mo":"WH/MO/1","qty":2}'), at, { row });
    ring.record("sql:prod_log:2", Buffer.from('{"id":2,"mo":"WH/MO/2","booked_at":"x"}'), at, {
      row,
    });
    ring.record("sql:prod_log:3", Buffer.from("not json"), at, { row });
    expect(rowColumns(ring.list({ connector: 7 }))).toEqual(["id", "mo", "booked_at", "qty"]);
  });
});

describe("topics a broker delivered with their dots turned into slashes (RabbitMQ 3.x)", () => {
  const filters = ["plant-bridge/v1/main/events", "spBv1.0/+/#", "acme.v2/line1/+"];
  it("restores the dots of a filter's literal leading levels", () => {
    expect(restoreDottedTopic(filters, "spBv1/0/g1/NDATA/e1")).toBe("spBv1.0/g1/NDATA/e1");
    expect(restoreDottedTopic(filters, "acme/v2/line1/press")).toBe("acme.v2/line1/press");
  });
  it("leaves other topics as delivered", () => {
    expect(restoreDottedTopic(filters, "plant-bridge/v1/main/events")).toBe(
      "plant-bridge/v1/main/events",
    );
    expect(restoreDottedTopic(filters, "acme/v2/line2/press")).toBe("acme/v2/line2/press");
    expect(restoreDottedTopic(filters, "spBv1/1/g1/NDATA/e1")).toBe("spBv1/1/g1/NDATA/e1");
  });
});
