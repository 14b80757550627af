/**
 * Topic patterns of mappings: MQTT wildcards (`+` one level, `#` the rest) and named segments
 * such as `plant/{site}/{line}/{machine}/status`, whose values the expression sees as `$site`,
 * `$line`, `$machine` (and all together as `$params`). A named segment matches one level like
 * `+`; `{rest#}` as the last level matches the remaining levels like `#` (joined with `/`).
 */
import { PermanentError } from "../errors.js";

export interface Selector {
  /** The pattern as configured. */
  pattern: string;
  /** The MQTT subscription filter (named segments become `+`, `{name#}` becomes `#`). */
  filter: string;
  /** Names of the named segments, in order. */
  names: string[];
  /** The named segments of a topic when it matches, else undefined. */
  match(topic: string): Record<string, string> | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_PATTERN = 1024;

/** Compiles a topic pattern; throws a `PermanentError` (`schema`) saying what is wrong with it. */
export function compileSelector(pattern: string): Selector {
  const bad = (why: string) =>
    new PermanentError("schema", `selector ${JSON.stringify(pattern.slice(0, 80))}: ${why}`);
  if (typeof pattern !== "string" || pattern.length === 0) throw bad("empty");
  if (pattern.length > MAX_PATTERN) throw bad(`longer than ${MAX_PATTERN} characters`);
  if (pattern.includes("\0")) throw bad("holds U+0000");
  const levels = pattern.split("/");
  const names: string[] = [];
  // What each level does: a fixed text, one level (named or not), or the rest (named or not).
  const steps: Array<{ kind: "text"; text: string } | { kind: "one" | "rest"; name?: string }> = [];
  levels.forEach((level, i) => {
    const last = i === levels.length - 1;
    const named = /^\{(.*)\}$/.exec(level);
    if (named) {
      const rest = named[1]!.endsWith("#");
      const name = rest ? named[1]!.slice(0, -1) : named[1]!;
      if (!NAME.test(name)) throw bad(`{${named[1]}} is not a name (letters, digits, _)`);
      if (names.includes(name)) throw bad(`{${name}} appears twice`);
      if (rest && !last) throw bad(`{${name}#} must be the last level`);
      names.push(name);
      steps.push({ kind: rest ? "rest" : "one", name });
    } else if (level === "+") {
      steps.push({ kind: "one" });
    } else if (level === "#") {
      if (!last) throw bad("# must be the last level");
      steps.push({ kind: "rest" });
    } else {
      if (/[+#{}]/.test(level))
        throw bad(`level ${JSON.stringify(level)} mixes text and wildcards`);
      steps.push({ kind: "text", text: level });
    }
  });
  const filter = steps
    .map((s) => (s.kind === "text" ? s.text : s.kind === "one" ? "+" : "#"))
    .join("/");

  return {
    pattern,
    filter,
    names,
    match(topic) {
      // MQTT 4.7.2: a filter starting with a wildcard does not match topics starting with `$`.
      if (topic.startsWith("$") && steps[0]?.kind !== "text") return undefined;
      const parts = topic.split("/");
      const params: Record<string, string> = {};
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        if (step.kind === "rest") {
          // `a/#` also matches `a` itself (MQTT 4.7.1.2); the rest is then empty.
          if (step.name) params[step.name] = parts.slice(i).join("/");
          return params;
        }
        const part = parts[i];
        if (part === undefined) return undefined;
        if (step.kind === "text") {
          if (part !== step.text) return undefined;
        } else if (step.name) {
          params[step.name] = part;
        }
      }
      return parts.length === steps.length ? params : undefined;
    },
  };
}

/** Sparkplug B topics are decoded by the Sparkplug host before mappings see them. */
export function isSparkplugPattern(pattern: string): boolean {
  return pattern === "spBv1.0" || pattern.startsWith("spBv1.0/");
}
