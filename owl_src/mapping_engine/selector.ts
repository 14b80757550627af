/**
 * What a mapping expression sees of where a sample came from, matched by the sidecar's own
 * selector code (sidecar/src/mapping-core/selector.ts): named segments of a topic pattern
 * (`plant/{site}/{line}/{machine}/status` → `$line`, `$machine`, also in `$params`; `{rest#}` as
 * the last level takes the remaining levels), `$topic`, `$levels`; `$file` / `$line` for a file
 * source `name.csv:12`.
 */
import { compileSelector } from "../../sidecar/src/mapping-core/selector.js";

/** The named segments of a topic its selector matches; null when it does not match. */
export function topicBindings(selector: string, topic: string): Record<string, string> | null {
  try {
    return compileSelector(selector).match(topic) ?? null;
  } catch {
    return null;
  }
}

/** The named segments of a source and what else a sample of it binds (`$file`, `$line`). */
export function sourceBindings(
  selector: string,
  source: string,
): { params: Record<string, string>; extra: Record<string, unknown> } {
  if (selector.includes("/") || selector.includes("{")) {
    return { params: topicBindings(selector, source) ?? {}, extra: {} };
  }
  const file = /^(.*):(\d+)$/.exec(source);
  if (file) return { params: {}, extra: { file: file[1], line: Number(file[2]) } };
  return { params: {}, extra: {} };
}
