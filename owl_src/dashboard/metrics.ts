/**
 * Pure aggregation of `plant_bridge.metric.snapshot` rows (one per sidecar heartbeat: counts
 * since the previous beat, gauges at that moment) into what the dashboard shows.
 */
import { parseServerDatetime } from "../core/dates.js";
import type { Many2one } from "../core/services.js";

export const SNAPSHOT_FIELDS = [
  "at",
  "site_id",
  "sidecar_id",
  "connector",
  "received",
  "applied",
  "rejected",
  "duplicate",
  "outbox_depth",
  "dead_letters",
  "oldest_pending_age",
  "critical_pending",
  "critical_lag",
  "bulk_pending",
  "bulk_lag",
  "held",
  "held_until",
  "latency_p50",
  "latency_p95",
  "odoo_up",
] as const;

export interface SnapshotRow {
  id: number;
  at: string;
  site_id: Many2one;
  sidecar_id: Many2one;
  connector: string | false;
  received: number;
  applied: number;
  rejected: number;
  duplicate: number;
  outbox_depth: number;
  dead_letters: number;
  oldest_pending_age: number;
  critical_pending: number;
  critical_lag: number;
  bulk_pending: number;
  bulk_lag: number;
  held: number;
  held_until: string | false;
  latency_p50: number;
  latency_p95: number;
  odoo_up: boolean;
}

/** A site and connector: snapshots without a connector count for the whole site. */
export interface GroupKey {
  siteId: number;
  siteName: string;
  connector: string;
}

export interface GroupSummary extends GroupKey {
  key: string;
  received: number;
  applied: number;
  rejected: number;
  duplicate: number;
  /** Applied events per minute over the window. */
  throughput: number;
  /** Rejected / (applied + rejected); 0 without traffic. */
  failureRate: number;
  /** Posting latency percentiles (s): mean of the heartbeats' percentiles weighted by applied. */
  latencyP50: number;
  latencyP95: number;
  /** Gauges of the latest heartbeat of each sidecar, summed (lag: the worst). */
  outboxDepth: number;
  deadLetters: number;
  syncLag: number;
  /** Backlog and lag (s) per posting lane, of the latest heartbeats (summed; lag: the worst). */
  lanes: Record<"critical" | "bulk", { pending: number; lag: number }>;
  /** Events a posting window keeps waiting (of the latest heartbeats), and the first release. */
  held: number;
  heldUntil: number | null;
  odooUp: boolean;
  lastAt: number | null;
}

export interface Bucket {
  start: number;
  end: number;
  received: number;
  applied: number;
  rejected: number;
  latencyP50: number;
  latencyP95: number;
  outboxDepth: number;
  syncLag: number;
}

export function groupKeyOf(row: SnapshotRow): GroupKey {
  return {
    siteId: row.site_id ? row.site_id[0] : 0,
    siteName: row.site_id ? row.site_id[1] : "",
    connector: row.connector || "",
  };
}

export function keyString(key: Pick<GroupKey, "siteId" | "connector">): string {
  return `${key.siteId}/${key.connector}`;
}

/** Mean of `value` weighted by `weight`; the plain mean when every weight is 0. */
function weightedMean<T>(items: T[], value: (t: T) => number, weight: (t: T) => number): number {
  if (!items.length) return 0;
  const total = items.reduce((n, t) => n + weight(t), 0);
  if (total > 0) return items.reduce((n, t) => n + value(t) * weight(t), 0) / total;
  return items.reduce((n, t) => n + value(t), 0) / items.length;
}

function earliest(values: (number | null)[]): number | null {
  const set = values.filter((v): v is number => v !== null);
  return set.length ? Math.min(...set) : null;
}

/** Latest row of each sidecar among `rows`. */
function latestPerSidecar(rows: SnapshotRow[]): SnapshotRow[] {
  const latest = new Map<number, { row: SnapshotRow; at: number }>();
  for (const row of rows) {
    const sidecar = row.sidecar_id ? row.sidecar_id[0] : 0;
    const at = parseServerDatetime(row.at) ?? 0;
    const seen = latest.get(sidecar);
    if (!seen || at > seen.at || (at === seen.at && row.id > seen.row.id)) {
      latest.set(sidecar, { row, at });
    }
  }
  return [...latest.values()].map((x) => x.row);
}

export function summarize(rows: SnapshotRow[], windowMs: number): GroupSummary[] {
  const groups = new Map<string, { key: GroupKey; rows: SnapshotRow[] }>();
  for (const row of rows) {
    const key = groupKeyOf(row);
    const k = keyString(key);
    if (!groups.has(k)) groups.set(k, { key, rows: [] });
    groups.get(k)!.rows.push(row);
  }
  const minutes = Math.max(windowMs / 60_000, 1 / 60);
  const summaries: GroupSummary[] = [];
  for (const [k, { key, rows: groupRows }] of groups) {
    const sum = (f: (r: SnapshotRow) => number) => groupRows.reduce((n, r) => n + f(r), 0);
    const applied = sum((r) => r.applied);
    const rejected = sum((r) => r.rejected);
    const latest = latestPerSidecar(groupRows);
    summaries.push({
      ...key,
      key: k,
      received: sum((r) => r.received),
      applied,
      rejected,
      duplicate: sum((r) => r.duplicate),
      throughput: applied / minutes,
      failureRate: applied + rejected ? rejected / (applied + rejected) : 0,
      latencyP50: weightedMean(
        groupRows,
        (r) => r.latency_p50,
        (r) => r.applied,
      ),
      latencyP95: weightedMean(
        groupRows,
        (r) => r.latency_p95,
        (r) => r.applied,
      ),
      outboxDepth: latest.reduce((n, r) => n + r.outbox_depth, 0),
      deadLetters: latest.reduce((n, r) => n + r.dead_letters, 0),
      syncLag: Math.max(0, ...latest.map((r) => r.oldest_pending_age)),
      lanes: {
        critical: {
          pending: latest.reduce((n, r) => n + (r.critical_pending || 0), 0),
          lag: Math.max(0, ...latest.map((r) => r.critical_lag || 0)),
        },
        bulk: {
          pending: latest.reduce((n, r) => n + (r.bulk_pending || 0), 0),
          lag: Math.max(0, ...latest.map((r) => r.bulk_lag || 0)),
        },
      },
      held: latest.reduce((n, r) => n + (r.held || 0), 0),
      heldUntil: earliest(latest.map((r) => parseServerDatetime(r.held_until))),
      odooUp: latest.every((r) => r.odoo_up),
      lastAt: Math.max(...groupRows.map((r) => parseServerDatetime(r.at) ?? 0)) || null,
    });
  }
  return summaries.sort(
    (a, b) => a.siteName.localeCompare(b.siteName) || a.connector.localeCompare(b.connector),
  );
}

/** `count` equal buckets ending at `now`; each row falls in the bucket of its `at`. */
export function bucketize(
  rows: SnapshotRow[],
  windowMs: number,
  now: number,
  count: number,
): Bucket[] {
  const size = windowMs / count;
  const start = now - windowMs;
  const perBucket: SnapshotRow[][] = Array.from({ length: count }, () => []);
  for (const row of rows) {
    const at = parseServerDatetime(row.at);
    if (at === null || at < start || at > now) continue;
    perBucket[Math.min(count - 1, Math.floor((at - start) / size))]!.push(row);
  }
  return perBucket.map((bucketRows, i) => {
    const sum = (f: (r: SnapshotRow) => number) => bucketRows.reduce((n, r) => n + f(r), 0);
    const latest = latestPerSidecar(bucketRows);
    return {
      start: start + i * size,
      end: start + (i + 1) * size,
      received: sum((r) => r.received),
      applied: sum((r) => r.applied),
      rejected: sum((r) => r.rejected),
      latencyP50: weightedMean(
        bucketRows,
        (r) => r.latency_p50,
        (r) => r.applied,
      ),
      latencyP95: weightedMean(
        bucketRows,
        (r) => r.latency_p95,
        (r) => r.applied,
      ),
      outboxDepth: latest.reduce((n, r) => n + r.outbox_depth, 0),
      syncLag: Math.max(0, ...latest.map((r) => r.oldest_pending_age)),
    };
  });
}

export type Health = "ok" | "warning" | "danger";

export interface SidecarRow {
  id: number;
  name: string;
  site_id: Many2one;
  version: string | false;
  last_heartbeat: string | false;
  is_stale: boolean;
  config_revision: number;
}

/** Stale or silent for `staleMs`: danger; an older configuration revision: warning. */
export function sidecarHealth(
  sidecar: SidecarRow,
  currentRevision: number,
  now: number,
  staleMs: number,
): Health {
  const beat = parseServerDatetime(sidecar.last_heartbeat);
  if (sidecar.is_stale || beat === null || now - beat > staleMs) return "danger";
  if (sidecar.config_revision < currentRevision) return "warning";
  return "ok";
}
