/**
 * What a mapping expression sees of where a message came from, named like the sidecar's
 * (sidecar/src/pipeline/mapping/mapper.ts): named segments of a topic pattern
 * (`plant/{site}/{line}/{machine}/status` → `$line`, `$machine`, also in `$params`), `$topic`,
 * `$levels`; `$file` / `$line` for a file source `name.csv:12`.
 */

export function topicBindings(selector: string, topic: string): Record<string, string> | null {
  const pattern = selector.split("/");
  const levels = topic.split("/");
  const bindings: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i]!;
    if (part === "#") return bindings;
    const level = levels[i];
    if (level === undefined) return null;
    const named = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
    if (named) bindings[named[1]!] = level;
    else if (part !== "+" && part !== level) return null;
  }
  return levels.length === pattern.length ? bindings : null;
}

export function sourceBindings(
  selector: string,
  source: string,
): { params: Record<string, string> } & Record<string, unknown> {
  if (selector.includes("/") || selector.includes("{")) {
    return {
      params: topicBindings(selector, source) ?? {},
      topic: source,
      levels: source.split("/"),
    };
  }
  const file = /^(.*):(\d+)$/.exec(source);
  if (file) return { params: {}, topic: source, file: file[1], line: Number(file[2]) };
  return { params: {}, topic: source };
}
