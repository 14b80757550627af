/**
 * The variables a mapping's expression sees: the named segments of its selector (`$line`,
 * `$machine`, all of them in `$params`), `$topic`, `$levels`, `$site`, `$receivedAt`, `$mapping`,
 * and what the source adds (Sparkplug: `$sparkplug`, `$workcenter`; rows: `$origin`, `$key`).
 */

/** Variables every expression sees; a named segment never shadows them. */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  "topic",
  "levels",
  "params",
  "receivedAt",
  "mapping",
  "event",
  "index",
]);

export interface BindingSource {
  /** The topic (or the source's name) the message came on. */
  topic: string;
  /** The named segments of the selector that matched it. */
  params: Record<string, string>;
  /** The mapping's site: `$site` unless a `{site}` segment names another. */
  site: string;
  /** ISO-8601. */
  receivedAt: string;
  mapping: { id: number; name: string; version: number };
  /** What the source adds (last: it may set any variable). */
  extra?: Record<string, unknown>;
}

export function expressionBindings(source: BindingSource): Record<string, unknown> {
  const bindings: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source.params))
    if (!RESERVED_VARIABLES.has(name)) bindings[name] = value;
  Object.assign(bindings, {
    topic: source.topic,
    levels: source.topic.split("/"),
    params: source.params,
    site: source.params.site ?? source.site,
    receivedAt: source.receivedAt,
    mapping: source.mapping,
    ...source.extra,
  });
  return bindings;
}
