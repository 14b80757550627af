/**
 * Samples topics that nothing maps yet (`PLANT_BRIDGE_SAMPLE_TOPICS`), so that an admin can
 * write the first mapping of a machine against its real messages. A separate MQTT connection
 * with a clean session at QoS 0: it never holds a broker queue while the sidecar is away, and
 * its subscriptions never overlap the ingestion session's (an overlapping subscription would
 * make the broker deliver a message twice to one session).
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../../logger.js";
import type { SampleRing } from "../../pipeline/mapping/samples.js";

export interface TopicSamplerOptions {
  url: string;
  clientId: string;
  filters: string[];
  samples: SampleRing;
  logger: Logger;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
  /** PEM contents for TLS to the broker (the ingress's). @default none */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Topics the sidecar receives anyway (and samples there): not recorded twice. */
  isRouted?: (topic: string) => boolean;
}

export function startTopicSampler(options: TopicSamplerOptions): { close(): Promise<void> } {
  const client: MqttClient = mqtt.connect(options.url, {
    clientId: options.clientId,
    clean: true,
    protocolVersion: options.protocolVersion ?? 5,
    reconnectPeriod: 5000,
    ...options.tls,
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
  });
  client.on("connect", () => {
    client.subscribe(options.filters, { qos: 0 }, (err) => {
      if (err) options.logger.warn({ err: err.message }, "topic sampler could not subscribe");
    });
  });
  client.on("message", (topic, payload) => {
    // Sparkplug is decoded and sampled by the Sparkplug host.
    if (topic.startsWith("spBv1.0/") || options.isRouted?.(topic)) return;
    options.samples.record(topic, payload, Date.now());
  });
  client.on("error", (err) => options.logger.debug({ err: err.message }, "topic sampler error"));
  return { close: () => client.endAsync(true).then(() => undefined) };
}
