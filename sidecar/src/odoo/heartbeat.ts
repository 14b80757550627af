import type { MessageParser } from "../contracts/checkers.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import { hostname } from "node:os";
import type { Counter } from "prom-client";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Ingestor } from "../pipeline/ingestor.js";
import type { Replayer } from "../pipeline/replay.js";
import type { LaneStats, Store } from "../store/types.js";
import type { ConnectorTester, ConnectorTestRequest } from "./connector-test.js";

export interface HeartbeatOptions {
  client: OdooClient;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  site: string;
  name: string;
  version: string;
  /** The configuration revision this sidecar applied. */
  configRevision: () => number;
  /** Receipt → applied latencies (ms) since the last heartbeat. */
  drainLatencies: () => number[];
  odooUp: () => boolean;
  /** Replays queued in Odoo's exception queue re-enter the pipeline here. */
  parse: MessageParser;
  ingestor: Ingestor;
  /**
   * Replays a local dead letter (through its mapping when it came from one). A replay from Odoo
   * whose fingerprint names an open dead letter goes through it. @default parse + ingest only
   */
  replay?: Replayer;
  /**
   * Runs the "test connection" requests Odoo hands back; without it they are left to the site's
   * other sidecars. @default none
   */
  connectorTests?: ConnectorTester;
  /** @default 15000 */
  intervalMs?: number;
}

interface Replay {
  replay_id: number;
  fingerprint: string | null;
  payload: string;
  /**
   * Whether an operator changed the payload in Odoo before this replay (Odoo compares it with
   * what was reported). Only an edited payload replaces the sidecar's copy; absent: not edited.
   */
  edited?: boolean;
  /** The code of the rejection replayed (absent from older addons). */
  code?: string | null;
}

export interface Heartbeat {
  beat(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Most receipt → applied latencies kept across beats that did not reach Odoo. */
const MAX_UNSENT_LATENCIES = 10_000;

/**
 * Every interval: registers the sidecar in Odoo (version, applied config revision) with a metric
 * snapshot per site (counts since the last beat, outbox depth, sync lag, posting latency
 * percentiles) and one per ingress source seen since the last beat, runs the replays Odoo hands
 * back through the pipeline and answers its "test connection" requests.
 *
 * A source's snapshot (`connector`: the `source` label of `plant_bridge_events_received_total`:
 * `mqtt`, `graphql`, `file`, `sql`, `http`, `sim`, `replay`, ...) only knows `received`: applied,
 * rejected, duplicate, the gauges and the latencies are the site's, so they are 0 there and only on
 * the site's snapshot (`connector` unset). That one is sent last: Odoo creates the rows in order,
 * and the Dashboard takes a sidecar's gauges from its newest row.
 */
export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { client, store, metrics, logger } = options;
  const startedAt = new Date().toISOString();
  /** Counter totals Odoo has received; a beat that fails leaves them, so its counts come again. */
  const last = new Map<string, number>();
  /** Latencies of beats that did not reach Odoo, sent with the next one (bounded). */
  let unsentLatencies: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;

  /** Counter total for the site, and its increase since the last beat Odoo received. */
  async function delta(
    counter: Counter<string>,
    site: string,
    next: Map<string, number>,
  ): Promise<number> {
    const { name, values } = await counter.get();
    const total = values.filter((v) => v.labels.site === site).reduce((n, v) => n + v.value, 0);
    const key = `${name}|${site}`;
    next.set(key, total);
    return total - (last.get(key) ?? 0);
  }

  /** `received` of the site per source label, increase since the previous beat (0 left out). */
  async function receivedBySource(
    site: string,
    next: Map<string, number>,
  ): Promise<Map<string, number>> {
    const { name, values } = await metrics.received.get();
    const bySource = new Map<string, number>();
    for (const v of values) {
      if (v.labels.site !== site) continue;
      const source = String(v.labels.source ?? "unknown");
      const key = `${name}|${site}|${source}`;
      const d = v.value - (last.get(key) ?? 0);
      next.set(key, v.value);
      if (d > 0) bySource.set(source, (bySource.get(source) ?? 0) + d);
    }
    return bySource;
  }

  async function beatOnce(): Promise<void> {
    const site = options.site;
    const stats = (await store.stats()).sites.find((s) => s.site === site);
    const next = new Map<string, number>();
    const drained = unsentLatencies.concat(options.drainLatencies());
    unsentLatencies = [];
    const lat = [...drained].sort((a, b) => a - b);
    const pct = (p: number) =>
      lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! / 1000 : 0;
    const now = Date.now();
    const snapshot = {
      at: new Date(now).toISOString(),
      received: await delta(metrics.received, site, next),
      applied: await delta(metrics.applied, site, next),
      rejected: await delta(metrics.rejected, site, next),
      duplicate: await delta(metrics.duplicate, site, next),
      outbox_depth: stats?.pending ?? 0,
      dead_letters: stats?.deadLetters ?? 0,
      oldest_pending_age: stats?.oldestPendingAt ? (now - stats.oldestPendingAt) / 1000 : 0,
      ...laneFigures(stats?.lanes ?? [], now),
      // events a posting window keeps waiting (not failed), and when the first of them posts
      held: stats?.held ?? 0,
      held_until: stats?.heldUntil ? new Date(stats.heldUntil).toISOString() : null,
      latency_p50: pct(50),
      latency_p95: pct(95),
      latency_p99: pct(99),
      odoo_up: options.odooUp(),
    };
    const bySource = [...(await receivedBySource(site, next))].map(([connector, received]) => ({
      at: snapshot.at,
      connector,
      received,
      applied: 0,
      rejected: 0,
      duplicate: 0,
      outbox_depth: 0,
      dead_letters: 0,
      oldest_pending_age: 0,
      latency_p50: 0,
      latency_p95: 0,
      latency_p99: 0,
      odoo_up: snapshot.odoo_up,
    }));
    let answer: { ok: boolean; replays?: Replay[]; connector_tests?: ConnectorTestRequest[] };
    try {
      answer = await client.call("plant_bridge.api", "heartbeat", {
        sidecar: {
          name: options.name,
          site,
          version: options.version,
          config_revision: options.configRevision(),
          started_at: startedAt,
          hostname: hostname(),
        },
        snapshots: [...bySource, snapshot],
      });
    } catch (err) {
      // Odoo did not take this snapshot (down, timeout): its counts stay pending in `last` and
      // its latencies are kept, so the first beat after an outage reports the whole outage.
      unsentLatencies = drained.slice(-MAX_UNSENT_LATENCIES);
      throw err;
    }
    for (const [key, total] of next) last.set(key, total);
    // Side by side with the replays; a test never fails the beat (runConnectorTests catches).
    const tests = answer.connector_tests?.length
      ? runConnectorTests(answer.connector_tests)
      : undefined;
    try {
      if (answer.replays?.length) await runReplays(answer.replays);
      await reportRejections();
    } finally {
      await tests;
    }
  }

  async function runConnectorTests(requests: ConnectorTestRequest[]): Promise<void> {
    if (!options.connectorTests) return;
    try {
      const results = await options.connectorTests.run(requests);
      await client.call("plant_bridge.api", "report_connector_tests", {
        results,
        sidecar: options.name,
      });
      logger.info(
        { tests: results.length, failed: results.filter((r) => !r.ok).length },
        "connection tests requested in Odoo answered",
      );
    } catch (err) {
      logger.warn(
        { err: { message: (err as Error).message } },
        "connection tests requested in Odoo not answered",
      );
    }
  }

  /**
   * Sidecar-side rejections (bad JSON, schema, too large, ...) go to Odoo's exception queue; a
   * durable cursor remembers what was reported, and Odoo de-duplicates by fingerprint, so a
   * crash between the two only reports a batch again.
   */
  async function reportRejections(): Promise<void> {
    const key = `odoo.reported_dead_letters.${options.site}`;
    for (;;) {
      const after = Number((await store.getState(key)) ?? 0);
      const batch = await store.listDeadLetters({
        site: options.site,
        inInbox: false,
        afterId: after,
        limit: 200,
      });
      if (batch.length === 0) return;
      await client.call("plant_bridge.api", "report_rejections", {
        site: options.site,
        items: batch.map((d) => ({
          id: d.eventId,
          code: d.code,
          message: d.message,
          payload: d.payloadEncoding === "base64" ? `base64:${d.payload}` : d.payload,
          source: d.source,
          origin: d.origin,
          received_at: new Date(d.createdAt).toISOString(),
          fingerprint: d.fingerprint,
          sidecar: options.name,
        })),
      });
      await store.setState([{ key, value: String(batch[batch.length - 1]!.id) }]);
      if (batch.length < 200) return;
    }
  }

  async function runReplays(replays: Replay[]): Promise<void> {
    const acks = [];
    for (const r of replays) {
      acks.push({ replay_id: r.replay_id, ...(await replayOne(r)) });
    }
    await client.call("plant_bridge.api", "ack_replays", { items: acks });
    logger.info(
      { replays: acks.length },
      "replays from Odoo's exception queue re-entered the pipeline",
    );
  }

  /**
   * A replay of a dead letter this sidecar holds goes through the replayer (a mapped message is
   * mapped again by its mapping's active version); anything else is parsed as a canonical message.
   */
  async function replayOne(
    r: Replay,
  ): Promise<{ status: string; code?: string; message?: string }> {
    const [local] = r.fingerprint
      ? await store.listDeadLetters({ fingerprint: r.fingerprint, state: "open", limit: 1 })
      : [];
    if (local && options.replay) {
      try {
        // A retry in Odoo replays the sidecar's own copy: a request that failed authentication
        // is then refused by the replayer unless an operator really edited it.
        const { results } = await options.replay(
          local.id,
          r.edited ? (r.payload ?? "") : undefined,
        );
        return summarize(results.map((x) => x.status));
      } catch (err) {
        return {
          status: "rejected",
          code: (err as { code?: string }).code ?? "unexpected",
          message: (err as Error).message,
        };
      }
    }
    if ((local?.code === "signature" || r.code === "signature") && !r.edited)
      return {
        status: "rejected",
        code: "signature",
        message:
          "this request failed authentication: replay it with its payload checked (edited), not as it is",
      };
    const origin = `odoo-replay:${r.replay_id}`;
    const items = options.parse(r.payload ?? "", { site: options.site, source: "replay", origin });
    const results = await options.ingestor.ingest(items, { source: "replay", origin });
    const rejected = items.find((i) => i.kind === "reject");
    if (rejected?.kind === "reject")
      return {
        status: "rejected",
        code: rejected.rejection.code,
        message: rejected.rejection.message,
      };
    return summarize(results.map((x) => x.status));
  }

  function summarize(statuses: string[]): { status: string; code?: string } {
    if (statuses.includes("dead_letter")) return { status: "rejected", code: "replayed_rejected" };
    if (statuses.length > 0 && statuses.every((s) => s === "duplicate"))
      return { status: "duplicate" };
    return { status: "accepted" };
  }

  function beat(): Promise<void> {
    beating ??= beatOnce().finally(() => (beating = undefined));
    return beating;
  }

  return {
    beat,
    start() {
      const tick = () =>
        void beat().catch((err: unknown) =>
          logger.warn({ err: { message: (err as Error).message } }, "heartbeat to Odoo failed"),
        );
      timer = setInterval(tick, options.intervalMs ?? 15_000);
      timer.unref();
      tick();
    },
    async stop() {
      clearInterval(timer);
      await beating?.catch(() => undefined);
    },
  };
}

/** Backlog and lag (seconds) of each posting lane: `critical_pending`, `critical_lag`, ... */
export function laneFigures(lanes: LaneStats[], now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lanes) {
    out[`${l.lane}_pending`] = l.pending;
    out[`${l.lane}_lag`] = l.oldestPendingAt === null ? 0 : (now - l.oldestPendingAt) / 1000;
  }
  return out;
}
