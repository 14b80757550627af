import type { MqttRoute } from "../../ingress/mqtt/mqtt-ingress.js";
import type { MappingEngine } from "./engine.js";

/**
 * The MQTT route of mapped (non-canonical, non-Sparkplug) topics: subscribes to the filters of
 * the current mappings (QoS 1) and hands each message to the engine, which acknowledges it once
 * what it produced is durable. Its `filters` follow the engine's mappings; call the ingress's
 * `setRoutes` after a change so that subscriptions follow too.
 */
export function createMappingRoute(options: {
  engine: MappingEngine;
  now?: () => number;
}): MqttRoute {
  const now = options.now ?? Date.now;
  return {
    name: "mapping",
    get filters() {
      return options.engine.filters().map((filter) => ({ filter, qos: 1 as const }));
    },
    handle(topic, payload) {
      return options.engine.handle({
        topic,
        source: "mqtt",
        input: { kind: "text", text: payload.toString("utf8") },
        payload,
        receivedAt: now(),
      });
    },
  };
}
