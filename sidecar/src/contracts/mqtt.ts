import type { IPublishPacket } from "mqtt";
import type { MessageContext } from "../canonical/parse.js";

/** What the MQTT intake hands a message of the topics it subscribes for a route. */
export interface MqttRoute {
  name: string;
  /** Subscription filters (QoS 1 unless given). */
  filters: Array<{ filter: string; qos?: 0 | 1 }>;
  handle(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void>;
  /** Site, source and origin of a message of this route that fails (its dead letter's). */
  context?(topic: string): MessageContext;
}
