/**
 * The MQTT topics of the external contract (ARCHITECTURE.md), and topic filters: `+` matches one
 * level, `#` the rest (MQTT 3.1.1 §4.7). Topics starting with `$` are not matched by a filter
 * starting with a wildcard.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === "#") return true;
    if (i >= t.length) return false;
    if (part !== "+" && part !== t[i]) return false;
  }
  return f.length === t.length;
}

export const CANONICAL_PREFIX = "plant-bridge/v1";

/** `plant-bridge/v1/<site>/events` for a site. */
export function canonicalTopic(site: string): string {
  return `${CANONICAL_PREFIX}/${site}/events`;
}

/** The site of a canonical topic, or undefined when the topic is not one. */
export function siteOfCanonicalTopic(topic: string): string | undefined {
  const parts = topic.split("/");
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== CANONICAL_PREFIX || parts[3] !== "events")
    return undefined;
  return parts[2] || undefined;
}

/** `plant-bridge/v1/<site>/commands` where releases to the plant are published. */
export function commandTopic(site: string): string {
  return `${CANONICAL_PREFIX}/${site}/commands`;
}
