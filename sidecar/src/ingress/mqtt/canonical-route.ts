import type { MessageParser } from "../../contracts/checkers.js";
import type { MqttRoute } from "../../contracts/mqtt.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import { canonicalTopic, siteOfCanonicalTopic } from "../../canonical/topics.js";

export interface CanonicalRouteOptions {
  /** Sites whose `plant-bridge/v1/<site>/events` topic this sidecar owns. */
  sites: string[];
  parse: MessageParser;
  ingestor: Ingestor;
}

/** Devices that already speak the canonical model: one event or an array per message. */
export function createCanonicalRoute(options: CanonicalRouteOptions): MqttRoute {
  return {
    name: "canonical",
    filters: options.sites.map((site) => ({ filter: canonicalTopic(site) })),
    context: (topic) => ({
      site: siteOfCanonicalTopic(topic) ?? options.sites[0]!,
      source: "mqtt",
      origin: topic,
    }),
    async handle(topic, payload) {
      const site = siteOfCanonicalTopic(topic);
      if (!site) return;
      const items = options.parse(payload, { site, source: "mqtt", origin: topic });
      await options.ingestor.ingest(items, { source: "mqtt", origin: topic });
    },
  };
}
