/**
 * What the Mapping Studio offers for completion while an expression is typed: the columns of a
 * connector's rows (a file's header, a table's columns), the metrics of a Sparkplug device (from
 * its birth certificate), and the variables the expression sees (`$machine`, `$file`...).
 */

export interface Completion {
  /** What is shown: the column, metric or variable name. */
  label: string;
  /** What is inserted in the expression, as JSONata reads it. */
  insert: string;
  kind: "column" | "metric" | "variable";
}

/** Most completions offered at once. */
export const MAX_COMPLETIONS = 40;

/** A name as JSONata reads it: bare when it is a plain identifier, else in backquotes. */
export function jsonataName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/`/g, "")}\``;
}

function parse(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined; // bare text or a cut payload: no column
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A decoded Sparkplug B message as the sidecar gives it to mappings (`metrics` and `values`). */
function sparkplugMetrics(value: Record<string, unknown>): string[] | undefined {
  if (!Array.isArray(value.metrics) || !isObject(value.values)) return undefined;
  return value.metrics
    .map((m) => (isObject(m) && typeof m.name === "string" ? m.name : undefined))
    .filter((n): n is string => !!n);
}

/**
 * Columns of the given payloads (the keys of JSON objects, the first payload's first, in their
 * order), and for decoded Sparkplug messages their metrics as `values.<name>`.
 */
export function payloadCompletions(payloads: readonly string[]): Completion[] {
  const out = new Map<string, Completion>();
  for (const payload of payloads) {
    const value = parse(payload);
    if (!isObject(value)) continue;
    const metrics = sparkplugMetrics(value);
    if (metrics) {
      for (const name of metrics) out.set(`m:${name}`, metricCompletion(name));
      continue;
    }
    for (const name of Object.keys(value))
      if (!out.has(`c:${name}`))
        out.set(`c:${name}`, { label: name, insert: jsonataName(name), kind: "column" });
  }
  return [...out.values()];
}

export function metricCompletion(name: string): Completion {
  return { label: name, insert: `values.${jsonataName(name)}`, kind: "metric" };
}

/** Metric names of a birth certificate as Odoo keeps it (`plant_bridge.binding.metrics`). */
export function birthMetrics(metrics: string | false): string[] {
  const list = metrics ? parse(metrics) : undefined;
  if (!Array.isArray(list)) return [];
  return list
    .map((m) => (isObject(m) && typeof m.name === "string" ? m.name : undefined))
    .filter((n): n is string => !!n);
}

/** Variables an expression sees (the preview's bindings), as `$name`. */
export function variableCompletions(bindings: Record<string, unknown> | undefined): Completion[] {
  return Object.keys(bindings ?? {})
    .filter((name) => name !== "params" && name !== "mapping")
    .map((name) => ({ label: `$${name}`, insert: `$${name}`, kind: "variable" as const }));
}

/** The word being typed just before the caret: a name, a `$variable` or a backquoted name. */
export function prefixAt(text: string, caret: number): string {
  const before = text.slice(0, caret);
  // inside a backquoted name only when a backquote is still open (`A B`, "x": y is not)
  const quotes = before.split("`").length - 1;
  if (quotes % 2 === 1) {
    const open = before.slice(before.lastIndexOf("`"));
    return open.includes("\n") ? "" : open;
  }
  return /(?:\$[A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)$/.exec(before)?.[0] ?? "";
}

/**
 * The completions for what is being typed: names that start with it first, then names that
 * contain it (a metric `Machine/State` for `state`); all of them when nothing is typed.
 */
export function filterCompletions(all: readonly Completion[], prefix: string): Completion[] {
  const unique = [...new Map(all.map((c) => [c.insert, c])).values()];
  if (!prefix) return unique.slice(0, MAX_COMPLETIONS);
  const variable = prefix.startsWith("$");
  const needle = prefix.replace(/^[`$]/, "").toLowerCase();
  const candidates = unique.filter((c) => (c.kind === "variable") === variable);
  const name = (c: Completion) => c.label.replace(/^\$/, "").toLowerCase();
  const starts = candidates.filter((c) => name(c).startsWith(needle));
  const contains = candidates.filter((c) => !starts.includes(c) && name(c).includes(needle));
  return [...starts, ...contains]
    .filter((c) => c.insert !== prefix) // already typed in full
    .slice(0, MAX_COMPLETIONS);
}

/** The text with the prefix before the caret replaced by the completion, and the new caret. */
export function applyCompletion(
  text: string,
  caret: number,
  completion: Completion,
): { text: string; caret: number } {
  const prefix = prefixAt(text, caret);
  const start = caret - prefix.length;
  // `values.Mach` + the metric `values.Machine` gives `values.Machine`, not `values.values...`
  const insert =
    completion.kind === "metric" && text.slice(0, start).endsWith("values.")
      ? completion.insert.slice("values.".length)
      : completion.insert;
  return {
    text: text.slice(0, start) + insert + text.slice(caret),
    caret: start + insert.length,
  };
}
