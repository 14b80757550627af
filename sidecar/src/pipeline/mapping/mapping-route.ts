import type { MqttRoute } from "../../contracts/mqtt.js";
import type { ParseLimits } from "../../canonical/parse.js";
import { checkJsonShape, DEFAULT_SHAPE_LIMITS } from "../../canonical/shape.js";
import { PermanentError } from "../../errors.js";
import type { MappingEngine } from "./engine.js";

/**
 * The MQTT route of mapped (non-canonical, non-Sparkplug) topics: subscribes to the filters of
 * the current mappings (QoS 1) and hands each message to the engine, which acknowledges it once
 * what it produced is durable. Its `filters` follow the engine's mappings; call the ingress's
 * `setRoutes` after a change so that subscriptions follow too.
 *
 * A message beyond the size or shape limits never reaches a mapping (its JSON would be parsed and
 * walked by JSONata): it is refused with `too_large` / `too_complex`, which the ingress's
 * quarantine keeps as a dead letter of its topic.
 */
export function createMappingRoute(options: {
  engine: MappingEngine;
  now?: () => number;
  /** @default 256 KiB messages, DEFAULT_SHAPE_LIMITS */
  limits?: Pick<ParseLimits, "maxMessageBytes" | "shape">;
}): MqttRoute {
  const now = options.now ?? Date.now;
  const maxBytes = options.limits?.maxMessageBytes ?? 256 * 1024;
  const shapeLimits = options.limits?.shape ?? DEFAULT_SHAPE_LIMITS;
  return {
    name: "mapping",
    get filters() {
      return options.engine.filters().map((filter) => ({ filter, qos: 1 as const }));
    },
    handle(topic, payload) {
      if (payload.length > maxBytes)
        throw new PermanentError(
          "too_large",
          `message of ${payload.length} bytes exceeds the limit of ${maxBytes}`,
        );
      const text = payload.toString("utf8");
      const shape = checkJsonShape(text, shapeLimits);
      if (shape) throw new PermanentError(shape.code, shape.message);
      return options.engine.handle({
        topic,
        source: "mqtt",
        input: { kind: "text", text },
        payload,
        receivedAt: now(),
      });
    },
  };
}
