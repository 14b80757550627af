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

/**
 * The topic a message was published on, when the broker delivered it with the dots of its
 * levels turned into level separators (RabbitMQ 3.x maps MQTT `/` and `.` onto AMQP routing
 * keys and gives `spBv1.0/g/NDATA/e1` back as `spBv1/0/g/NDATA/e1`). Restores the dots of a
 * filter's literal leading levels (Sparkplug's namespace, a vendor prefix such as `acme.v2/`);
 * dots inside levels matched by a wildcard cannot be told apart and stay as delivered.
 */
export function restoreDottedTopic(filters: string[], topic: string): string {
  for (const filter of filters) {
    const literal: string[] = [];
    for (const level of filter.split("/")) {
      if (level === "+" || level === "#") break;
      literal.push(level);
    }
    const prefix = literal.join("/");
    if (!prefix.includes(".")) continue;
    const flattened = prefix.replaceAll(".", "/");
    if (topic === flattened || topic.startsWith(`${flattened}/`)) {
      const restored = prefix + topic.slice(flattened.length);
      if (topicMatches(filter, restored)) return restored;
    }
  }
  return topic;
}
