/**
 * Recent real messages per topic, so that an admin writes a mapping against what the plant
 * actually publishes (the Mapping Studio's "recent samples"). Bounded in every direction: at
 * most `maxTopics` topics (the least recently seen is forgotten), `perTopic` samples each,
 * `maxBytes` of payload each (longer ones are cut and marked), and at most one sample per topic
 * every `minIntervalMs` (a 100 Hz topic costs nothing more than a quiet one).
 *
 * Legacy rows (files, SQL, HTTP) are samples too, kept per connector rather than per row origin
 * (`legacy:<site>:<connector id>`: a 100,000-line file takes one slot): the last
 * `rowsPerConnector` rows, every one of them reported (rows of one read arrive together, so a
 * rate limit would keep only the first row of each file; an admin writing the mapping of a
 * file wants its last rows, with their variety). Their `topic` is the row's origin
 * (`file:mes.csv:12`) and they name their connector, which is how the Mapping Studio finds them
 * (Odoo's `plant_bridge.sample.connector_id`).
 */
import { topicMatches } from "../../canonical/topics.js";
import { decodeUtf8 } from "./mapper.js";
import { compileSelector } from "../../mapping-core/selector.js";

export interface Sample {
  /** The MQTT topic, or a legacy row's origin (`file:<name>:<line>`, `sql:<table>:<key>`). */
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
  /** A legacy row: its kind of source, its connector and its site. */
  source?: "file" | "sql" | "http";
  connectorId?: number;
  connector?: string;
  site?: string;
}

/** Where a legacy row came from, for `record`. */
export interface RowSampleSource {
  source: "file" | "sql" | "http";
  site: string;
  connectorId: number;
  connector: string;
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
  /** Rows kept (and reported) per legacy connector, at most `maxBytes` each. @default 20 */
  rowsPerConnector?: number;
}

export interface SampleRing {
  record(
    topic: string,
    payload: Uint8Array,
    at: number,
    options?: { sparkplug?: boolean; row?: RowSampleSource },
  ): void;
  /**
   * Newest first. `selector`: a mapping pattern (`plant/{site}/+/status`) or an MQTT filter for
   * messages; for legacy rows a glob of the file, table or connector name (`*.csv`), or `#`.
   * `connector`: only the rows of this connector (id).
   */
  list(options?: { selector?: string; connector?: number; limit?: number }): Sample[];
  /** Topics, and `legacy:<site>:<connector id>` slots of legacy rows (with `connectorId`). */
  topics(): Array<{ topic: string; lastAt: string; samples: number; connectorId?: number }>;
  /**
   * Samples recorded since the last call, for reporting to Odoo: the newest per topic, and each
   * new row of a connector (up to `rowsPerConnector`), oldest first.
   */
  takeNew(): Sample[];
}

export function createSampleRing(options: SampleRingOptions = {}): SampleRing {
  const maxTopics = options.maxTopics ?? 200;
  const perTopic = options.perTopic ?? 5;
  const maxBytes = options.maxBytes ?? 16 * 1024;
  const minIntervalMs = options.minIntervalMs ?? 200;
  const rowsPerConnector = options.rowsPerConnector ?? 20;
  const byTopic = new Map<string, Sample[]>();
  const lastAt = new Map<string, number>();
  /** Per slot, newest first: one sample for a topic, the new rows for a connector. */
  const fresh = new Map<string, Sample[]>();

  return {
    record(topic, payload, at, recordOptions = {}) {
      const row = recordOptions.row;
      const slot = row ? `legacy:${row.site}:${row.connectorId}` : topic;
      if (!row && at - (lastAt.get(slot) ?? Number.NEGATIVE_INFINITY) < minIntervalMs) return;
      lastAt.set(slot, at);
      const keep = row ? rowsPerConnector : perTopic;
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
        ...(row && {
          source: row.source,
          connectorId: row.connectorId,
          connector: row.connector,
          site: row.site,
        }),
      };
      const list = byTopic.get(slot) ?? [];
      byTopic.delete(slot); // most recently seen last
      list.unshift(sample);
      if (list.length > keep) list.length = keep;
      byTopic.set(slot, list);
      if (byTopic.size > maxTopics) {
        const oldest = byTopic.keys().next().value!;
        byTopic.delete(oldest);
        fresh.delete(oldest);
        lastAt.delete(oldest);
      }
      const news = row ? (fresh.get(slot) ?? []) : [];
      news.unshift(sample);
      if (news.length > keep) news.length = keep;
      fresh.set(slot, news);
    },
    list(listOptions = {}) {
      const { selector, connector } = listOptions;
      const compiled = selector && /[{}]/.test(selector) ? compileSelector(selector) : undefined;
      const matches = (s: Sample) => {
        if (connector !== undefined && s.connectorId !== connector) return false;
        if (!selector) return true;
        if (s.connectorId !== undefined) return rowMatches(selector, s);
        return compiled ? compiled.match(s.topic) !== undefined : topicMatches(selector, s.topic);
      };
      return [...byTopic.values()]
        .flat()
        .filter(matches)
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, listOptions.limit ?? 50);
    },
    topics() {
      return [...byTopic.entries()]
        .map(([topic, list]) => ({
          topic,
          lastAt: list[0]!.at,
          samples: list.length,
          ...(list[0]!.connectorId !== undefined && { connectorId: list[0]!.connectorId }),
        }))
        .reverse();
    },
    takeNew() {
      const out = [...fresh.values()].flatMap((news) => [...news].reverse());
      fresh.clear();
      return out;
    },
  };
}

/**
 * A legacy row's sample and the selector of a legacy mapping (a file glob, a table, or anything
 * with `#`): the glob is tried on the row's file, table or HTTP source name and on its connector.
 */
function rowMatches(selector: string, sample: Sample): boolean {
  if (selector === "#") return true;
  const name = /^(?:file|sql|http):(.*):[^:]*$/.exec(sample.topic)?.[1] ?? sample.topic;
  return globMatches(selector, name) || globMatches(selector, sample.connector ?? "");
}

/** `*` and `?` wildcards, linear with backtracking to the last star only (no regex, no ReDoS). */
function globMatches(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === "?" || glob[g] === text[t])) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === "*") {
      star = g++;
      mark = t;
    } else if (star >= 0) {
      g = star + 1;
      t = ++mark;
    } else return false;
  }
  while (glob[g] === "*") g++;
  return g === glob.length;
}

/**
 * The columns of rows (the keys of their JSON objects), those of the newest row first in their
 * order, then the ones only older rows have: what a row mapping's expression can name.
 */
export function rowColumns(samples: readonly Sample[], max = 500): string[] {
  const columns = new Set<string>();
  for (const s of samples) {
    if (s.encoding !== "utf8") continue;
    let row: unknown;
    try {
      row = JSON.parse(s.payload);
    } catch {
      continue; // a cut or non-JSON payload names no column
    }
    if (row === null || typeof row !== "object" || Array.isArray(row)) continue;
    for (const name of Object.keys(row)) if (columns.size < max) columns.add(name);
  }
  return [...columns];
}
