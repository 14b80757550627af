/**
 * Everything the integration did for one manufacturing order, as one chronological list: releases
 * to the plant and their acknowledgements, inbound events (consumption, confirmation, scrap,
 * quality...) with their outcome, quality holds, failures, retries and replays.
 */
import { parseServerDatetime } from "../core/dates.js";
import { _t } from "../core/l10n.js";
import type { Many2one } from "../core/services.js";
import type { EventType } from "../../sidecar/src/canonical/schema.js";

export interface OutboundRow {
  id: number;
  key: string;
  event_type: "order_release" | "order_change" | "order_cancel" | "order_done";
  state: "pending" | "acknowledged" | "failed";
  sink: string | false;
  ack_message: string | false;
  ack_date: string | false;
  create_date: string;
}

export interface TraceMessageRow {
  id: number;
  key: string;
  event_type: string | false;
  state: "received" | "applied" | "deferred" | "rejected" | "discarded";
  error_code: string | false;
  error_message: string | false;
  attempts: number;
  occurred_at: string | false;
  create_date: string;
  res_model: string | false;
  res_id: number | false;
  res_name: string | false;
  source: string | false;
  discard_reason: string | false;
  /** When Odoo last tried it. */
  processed_at: string | false;
  /** Earlier failures that a retry or replay overwrote on the row, oldest first. */
  failure_history: PastFailure[] | false;
}

export interface PastFailure {
  state: "rejected" | "deferred";
  code: string;
  message: string;
  /** Server datetime ("YYYY-MM-DD HH:MM:SS", UTC) or false. */
  at: string | false;
}

export interface QualityRow {
  id: number;
  name: string;
  result: "pass" | "fail";
  value: string | false;
  hold: boolean;
  hold_state: "none" | "held" | "released";
  occurred_at: string | false;
  create_date: string;
  lot_id: Many2one;
  released_date: string | false;
  released_by_id: Many2one;
}

/** A delivery or a consumption a quality hold refused (plant_bridge.hold.block). */
export interface HoldBlockRow {
  id: number;
  operation: "delivery" | "consumption";
  lot_id: Many2one;
  result_id: Many2one;
  res_model: string | false;
  res_id: number | false;
  res_name: string | false;
  user_id: Many2one;
  create_date: string;
}

export interface ReplayRow {
  id: number;
  message_id: Many2one;
  state: "pending" | "done" | "failed";
  result_code: string | false;
  create_date: string;
  done_at: string | false;
}

export interface NoteRow {
  id: number;
  res_id: number;
  body: string;
  date: string;
  author_id: Many2one;
}

export type EntryKind = "release" | "event" | "quality" | "replay";
export type Tone = "success" | "danger" | "warning" | "info" | "secondary";

export interface TimelineEntry {
  key: string;
  at: number;
  kind: EntryKind;
  icon: string;
  title: string;
  detail: string;
  tone: Tone;
  badge: string;
  /** The record to open from the entry. */
  link?: { model: string; id: number; label: string };
  failure: boolean;
}

// one per canonical event type: a type added to the schema without its entry does not compile
const EVENT_TITLES: Record<EventType, () => string> = {
  production: () => _t("Production confirmation"),
  consumption: () => _t("Material consumption"),
  scrap: () => _t("Scrap"),
  downtime: () => _t("Downtime"),
  workorder_status: () => _t("Work order status"),
  labor: () => _t("Labor (operator time)"),
  machine_status: () => _t("Machine status"),
  quality: () => _t("Quality result"),
  nonconformance: () => _t("Nonconformance"),
  maintenance: () => _t("Maintenance request"),
  transfer: () => _t("Transfer"),
  record: () => _t("Compliance record"),
};

const EVENT_ICONS: Record<EventType, string> = {
  production: "fa-check-square-o",
  consumption: "fa-cubes",
  scrap: "fa-trash",
  downtime: "fa-pause-circle",
  workorder_status: "fa-play-circle",
  labor: "fa-user-circle",
  machine_status: "fa-cogs",
  quality: "fa-flask",
  nonconformance: "fa-exclamation-circle",
  maintenance: "fa-wrench",
  transfer: "fa-truck",
  record: "fa-file-text-o",
};

const RELEASE_TITLES: Record<OutboundRow["event_type"], () => string> = {
  order_release: () => _t("Released to the plant"),
  order_change: () => _t("Change sent to the plant"),
  order_cancel: () => _t("Cancellation sent to the plant"),
  order_done: () => _t("Completion sent to the plant"),
};

const RELEASE_ICONS: Partial<Record<OutboundRow["event_type"], string>> = {
  order_cancel: "fa-ban",
  order_done: "fa-flag-checkered",
};

function at(...values: (string | false)[]): number {
  for (const v of values) {
    const ms = parseServerDatetime(v);
    if (ms !== null) return ms;
  }
  return 0;
}

/** The text of a chatter body (HTML), for one line of the timeline. */
export function textOf(html: string): string {
  return html
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ")
    .trim();
}

function outboundEntries(rows: OutboundRow[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const row of rows) {
    entries.push({
      key: `outbound:${row.id}`,
      at: at(row.create_date),
      kind: "release",
      icon: RELEASE_ICONS[row.event_type] ?? "fa-paper-plane",
      title: RELEASE_TITLES[row.event_type](),
      detail: row.key,
      tone: row.state === "pending" ? "info" : row.state === "failed" ? "danger" : "success",
      badge: row.state === "pending" ? _t("waiting for a sidecar") : _t("sent"),
      link: { model: "plant_bridge.outbound", id: row.id, label: row.key },
      failure: false,
    });
    if (row.state !== "pending") {
      const ok = row.state === "acknowledged";
      entries.push({
        key: `outbound-ack:${row.id}`,
        at: at(row.ack_date, row.create_date),
        kind: "release",
        icon: ok ? "fa-check" : "fa-times",
        title: ok
          ? _t("Acknowledged by %s", row.sink || _t("the plant"))
          : _t("Refused by %s", row.sink || _t("the plant")),
        detail: row.ack_message || "",
        tone: ok ? "success" : "danger",
        badge: ok ? _t("acknowledged") : _t("failed"),
        link: { model: "plant_bridge.outbound", id: row.id, label: row.key },
        failure: !ok,
      });
    }
  }
  return entries;
}

/** The failures a later attempt fixed (or replaced): one entry each, at the time it failed. */
function pastFailureEntries(row: TraceMessageRow): TimelineEntry[] {
  const type = row.event_type || "other";
  const history = Array.isArray(row.failure_history) ? row.failure_history : [];
  return history.map((f, index) => ({
    key: `message-failure:${row.id}:${index}`,
    at: at(f.at, row.occurred_at, row.create_date),
    kind: "event",
    icon: (EVENT_ICONS as Record<string, string>)[type] ?? "fa-envelope-o",
    title: ((EVENT_TITLES as Record<string, () => string>)[type] ?? (() => _t("Event")))(),
    detail: `${f.code || ""}: ${f.message || ""}`,
    tone: f.state === "deferred" ? "warning" : "danger",
    badge: f.state === "deferred" ? _t("deferred") : _t("rejected"),
    link: { model: "plant_bridge.message", id: row.id, label: row.key },
    failure: f.state !== "deferred",
  }));
}

function messageEntry(row: TraceMessageRow): TimelineEntry {
  const type = row.event_type || "other";
  const tone: Tone = {
    applied: "success",
    rejected: "danger",
    deferred: "warning",
    discarded: "secondary",
    received: "info",
  }[row.state] as Tone;
  const badge = {
    applied: _t("applied"),
    rejected: _t("rejected"),
    deferred: _t("deferred"),
    discarded: _t("discarded"),
    received: _t("received"),
  }[row.state];
  let detail = "";
  if (row.state === "applied" && row.res_name) detail = _t("→ %s", row.res_name);
  else if (row.state === "rejected" || row.state === "deferred")
    detail = `${row.error_code || ""}: ${row.error_message || ""}`;
  else if (row.state === "discarded") detail = row.discard_reason || "";
  if (row.attempts > 1) detail = `${detail} (${_t("%s attempts", row.attempts)})`.trim();
  const retried = Array.isArray(row.failure_history) && row.failure_history.length > 0;
  return {
    key: `message:${row.id}`,
    // after earlier failures, the outcome is the last attempt's, not the event's own time
    at: retried
      ? at(row.processed_at, row.occurred_at, row.create_date)
      : at(row.occurred_at, row.create_date),
    kind: "event",
    icon: (EVENT_ICONS as Record<string, string>)[type] ?? "fa-envelope-o",
    title: ((EVENT_TITLES as Record<string, () => string>)[type] ?? (() => _t("Event")))(),
    detail,
    tone,
    badge,
    link: { model: "plant_bridge.message", id: row.id, label: row.key },
    failure: row.state === "rejected",
  };
}

function qualityEntries(rows: QualityRow[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const row of rows) {
    const pass = row.result === "pass";
    entries.push({
      key: `quality:${row.id}`,
      at: at(row.occurred_at, row.create_date),
      kind: "quality",
      icon: pass ? "fa-thumbs-o-up" : "fa-thumbs-o-down",
      title: _t("Quality test %s", row.name),
      detail: [row.value || "", row.lot_id ? _t("lot %s", row.lot_id[1]) : ""]
        .filter(Boolean)
        .join(" · "),
      tone: pass ? "success" : "danger",
      badge: pass ? _t("pass") : _t("fail"),
      link: { model: "plant_bridge.quality.result", id: row.id, label: row.name },
      failure: !pass,
    });
    if (row.hold_state !== "none") {
      entries.push({
        key: `hold:${row.id}`,
        at: at(row.occurred_at, row.create_date) + 1,
        kind: "quality",
        icon: "fa-lock",
        title: _t("Quality hold"),
        detail: row.lot_id ? _t("lot %s", row.lot_id[1]) : _t("the whole order"),
        tone: row.hold_state === "held" ? "danger" : "secondary",
        badge: row.hold_state === "held" ? _t("held") : _t("released later"),
        link: { model: "plant_bridge.quality.result", id: row.id, label: row.name },
        failure: row.hold_state === "held",
      });
    }
    if (row.hold_state === "released" && row.released_date) {
      entries.push({
        key: `release-hold:${row.id}`,
        at: at(row.released_date),
        kind: "quality",
        icon: "fa-unlock",
        title: _t("Hold released"),
        detail: row.released_by_id ? _t("by %s", row.released_by_id[1]) : "",
        tone: "success",
        badge: _t("released"),
        link: { model: "plant_bridge.quality.result", id: row.id, label: row.name },
        failure: false,
      });
    }
  }
  return entries;
}

const BLOCK_TITLES: Record<HoldBlockRow["operation"], () => string> = {
  delivery: () => _t("Delivery blocked by a quality hold"),
  consumption: () => _t("Consumption blocked by a quality hold"),
};

function blockEntries(rows: HoldBlockRow[]): TimelineEntry[] {
  return rows.map((row) => ({
    key: `block:${row.id}`,
    at: at(row.create_date),
    kind: "quality" as const,
    icon: "fa-ban",
    title: BLOCK_TITLES[row.operation](),
    detail: [
      row.lot_id ? _t("lot %s", row.lot_id[1]) : "",
      row.res_name || "",
      row.user_id ? _t("by %s", row.user_id[1]) : "",
    ]
      .filter(Boolean)
      .join(" · "),
    tone: "danger" as const,
    badge: _t("blocked"),
    link:
      row.res_model && row.res_id
        ? { model: row.res_model, id: row.res_id, label: row.res_name || "" }
        : undefined,
    failure: true,
  }));
}

function replayEntries(
  replays: ReplayRow[],
  notes: NoteRow[],
  keys: Map<number, string>,
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const r of replays) {
    const messageId = r.message_id ? r.message_id[0] : 0;
    entries.push({
      key: `replay:${r.id}`,
      at: at(r.done_at, r.create_date),
      kind: "replay",
      icon: "fa-repeat",
      title: _t("Replay through the sidecar"),
      detail: `${keys.get(messageId) ?? ""}${r.result_code ? ` · ${r.result_code}` : ""}`,
      tone: r.state === "done" ? "success" : r.state === "failed" ? "danger" : "info",
      badge: { pending: _t("queued"), done: _t("done"), failed: _t("failed") }[r.state],
      link: messageId
        ? { model: "plant_bridge.message", id: messageId, label: keys.get(messageId) ?? "" }
        : undefined,
      failure: r.state === "failed",
    });
  }
  for (const n of notes) {
    const text = textOf(n.body);
    if (!text) continue;
    entries.push({
      key: `note:${n.id}`,
      at: at(n.date),
      kind: "replay",
      icon: "fa-user",
      title: text,
      detail: keys.get(n.res_id) ?? "",
      tone: "secondary",
      badge: n.author_id ? n.author_id[1] : "",
      link: { model: "plant_bridge.message", id: n.res_id, label: keys.get(n.res_id) ?? "" },
      failure: false,
    });
  }
  return entries;
}

export interface TraceData {
  outbound: OutboundRow[];
  messages: TraceMessageRow[];
  quality: QualityRow[];
  /** Attempts a quality hold refused: on the order's lots, or consuming into the order. */
  blocks?: HoldBlockRow[];
  replays: ReplayRow[];
  notes: NoteRow[];
}

/** Oldest first; entries at the same instant keep the order release → event → quality → replay. */
export function buildTimeline(data: TraceData): TimelineEntry[] {
  const keys = new Map(data.messages.map((m) => [m.id, m.key]));
  const entries = [
    ...outboundEntries(data.outbound),
    ...data.messages.flatMap((m) => [...pastFailureEntries(m), messageEntry(m)]),
    ...qualityEntries(data.quality),
    ...blockEntries(data.blocks ?? []),
    ...replayEntries(data.replays, data.notes, keys),
  ];
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.at - b.entry.at || a.index - b.index)
    .map((x) => x.entry);
}
