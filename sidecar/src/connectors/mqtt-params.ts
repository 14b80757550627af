/**
 * The parameters of the MQTT connectors configured in Odoo (`plant_bridge.connector`), the one
 * source of the JSON Schema Odoo's typed forms validate them with (`npm run schema:connectors`).
 *
 * - `mqtt` (MQTT broker): the broker the plant's devices publish to and the topics its mappings
 *   read; mappings and samples are attached to it. The sidecar itself connects to
 *   `PLANT_BRIDGE_MQTT_URL` (README "Against a real broker"): the connector names the same broker
 *   for the people configuring mappings.
 * - `sink_mqtt` (MQTT command sink): releases go to `plant-bridge/v1/<site>/commands` at QoS 1
 *   whatever the connector says (egress/mqtt-command-sink.ts): it has no parameter to set.
 */
import { z } from "zod";

/** An MQTT topic filter (MQTT 3.1.1 §4.7): `+` a whole level, `#` only as the last one. */
const TOPIC_FILTER = /^(#|(\+|[^+#/]*)(\/(\+|[^+#/]*))*(\/#)?)$/;

const mqttParams = z
  .object({
    url: z
      .url({ protocol: /^(mqtts?|wss?)$/ })
      .regex(/^(mqtts?|wss?):\/\//, "an mqtt://, mqtts://, ws:// or wss:// address")
      .optional()
      .describe("The broker's address, e.g. mqtt://broker.plant.local:1883 (mqtts:// with TLS)."),
    topics: z
      .array(
        z
          .string()
          .min(1)
          .max(1024)
          .regex(TOPIC_FILTER, "an MQTT topic filter (+ for a level, # last)"),
      )
      .default([])
      .describe("Topic filters the plant publishes on, e.g. plant/+/+/status."),
    clientId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe("Client id the plant's integration is known by on that broker."),
    username: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("User on that broker (its password is kept in the secrets)."),
  })
  .strict();

export const MQTT_CONNECTOR_PARAMS = {
  mqtt: mqttParams,
  sink_mqtt: z.object({}).strict(),
} as const;
