import fc from "fast-check";
import { topicMatches } from "../../sidecar/src/ingress/mqtt/topic.js";
import { compileSelector } from "../../sidecar/src/pipeline/mapping/selector.js";

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
