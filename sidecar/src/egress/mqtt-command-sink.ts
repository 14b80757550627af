import type { OutboundRow } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import type { MqttClient } from "mqtt";
import { commandTopic } from "../canonical/topics.js";

/**
 * Publishes releases on `plant-bridge/v1/<site>/commands` at QoS 1 (retain off); delivery is
 * acknowledged when the broker acknowledges the publish.
 */
export function createMqttCommandSink(client: () => MqttClient, site: string): OutboundSink {
  const topic = commandTopic(site);
  return {
    name: `mqtt:${topic}`,
    async deliver(row: OutboundRow) {
      await client().publishAsync(topic, JSON.stringify({ ...row.payload, type: row.type }), {
        qos: 1,
      });
    },
  };
}
