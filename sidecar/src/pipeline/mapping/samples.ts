/**
 * Recent real messages per topic, so that an admin writes a mapping against what the plant
 * actually publishes (the Mapping Studio's "recent samples"). Bounded in every direction: at
 * most `maxTopics` topics (the least recently seen is forgotten), `perTopic` samples each,
 * `maxBytes` of payload each (longer ones are cut and marked), and at most one sample per topic
 * every `minIntervalMs` (a 100 Hz topic costs nothing more than a quiet one).
 */
import { topicMatches } from "../../ingress/mqtt/topic.js";
import { decodeUtf8 } from "./mapper.js";
import { compileSelector } from "./selector.js";

export interface Sample {
  topic: string;
  /** ISO time of receipt. */
  at: string;
  /** The payload as UTF-8 text (JSON usually), or base64 when it is not text. */
  payload: string;
  encoding: "utf8" | "base64";
  /** Sparkplug B: `payload` is the decoded message as JSON (what mappings see). */
  sparkplug?: boolean;
  size: number;
  truncated: boolean;
}

export interface SampleRingOptions {
  /** @default 200 */
  maxTopics?: number;
  /** @default 5 */
  perTopic?: number;
  /** @default 16384 */
  maxBytes?: number;
  /** @default 200 */
  minIntervalMs?: number;
}

export interface SampleRing {
  record(topic: string, payload: Uint8Array, at: number, options?: { sparkplug?: boolean }): void;
  /**
   * Newest first; `selector` is a mapping pattern (`plant/{site}/+/status`) or an MQTT filter.
   */
  list(options?: { selector?: string; limit?: number }): Sample[];
  topics(): Array<{ topic: string; lastAt: string; samples: number }>;
  /** Samples recorded since the last call (newest per topic), for reporting to Odoo. */
  takeNew(): Sample[];
}

export function createSampleRing(options: SampleRingOptions = {}): SampleRing {
  const maxTopics = options.maxTopics ?? 200;
  const perTopic = options.perTopic ?? 5;
  const maxBytes = options.maxBytes ?? 16 * 1024;
  const minIntervalMs = options.minIntervalMs ?? 200;
  const byTopic = new Map<string, Sample[]>();
  const lastAt = new Map<string, number>();
  const fresh = new Map<string, Sample>();

  return {
    record(topic, payload, at, recordOptions = {}) {
      if (at - (lastAt.get(topic) ?? Number.NEGATIVE_INFINITY) < minIntervalMs) return;
      lastAt.set(topic, at);
      const cut = payload.length > maxBytes ? payload.subarray(0, maxBytes) : payload;
      const text = decodeUtf8(cut);
      const sample: Sample = {
        topic,
        at: new Date(at).toISOString(),
        payload: text ?? Buffer.from(cut).toString("base64"),
        encoding: text === undefined ? "base64" : "utf8",
        size: payload.length,
        truncated: cut.length < payload.length,
        ...(recordOptions.sparkplug && { sparkplug: true }),
      };
      const list = byTopic.get(topic) ?? [];
      byTopic.delete(topic); // most recently seen last
      list.unshift(sample);
      if (list.length > perTopic) list.length = perTopic;
      byTopic.set(topic, list);
      if (byTopic.size > maxTopics) {
        const oldest = byTopic.keys().next().value!;
        byTopic.delete(oldest);
        fresh.delete(oldest);
        lastAt.delete(oldest);
      }
      fresh.set(topic, sample);
    },
    list(listOptions = {}) {
      const selector = listOptions.selector;
      const compiled = selector && /[{}]/.test(selector) ? compileSelector(selector) : undefined;
      const matches = (topic: string) =>
        !selector ||
        (compiled ? compiled.match(topic) !== undefined : topicMatches(selector, topic));
      return [...byTopic.entries()]
        .filter(([topic]) => matches(topic))
        .flatMap(([, list]) => list)
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, listOptions.limit ?? 50);
    },
    topics() {
      return [...byTopic.entries()]
        .map(([topic, list]) => ({ topic, lastAt: list[0]!.at, samples: list.length }))
        .reverse();
    },
    takeNew() {
      const out = [...fresh.values()];
      fresh.clear();
      return out;
    },
  };
}
