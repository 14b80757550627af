import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { formatDatetime, parseServerDatetime } from "../core/dates.js";
import { prettyJson } from "../core/format.js";
import { _t } from "../core/l10n.js";
import { openRecord } from "../core/navigation.js";
import { suggestedFix, type SuggestedFix } from "./suggestions.js";
import {
  useService,
  type Domain,
  type Many2one,
  type ActionService,
  type NotificationService,
  type ORM,
} from "../core/services.js";

/** Messages listed per group and page. */
export const PAGE_SIZE = 80;
/** Ids per retry call: small enough for a live progress bar, large enough to be quick. */
export const RETRY_CHUNK = 20;

export const MESSAGE_FIELDS = [
  "key",
  "site_id",
  "event_type",
  "source",
  "origin",
  "error_code",
  "error_message",
  "attempts",
  "create_date",
  "rejected_by",
  "production_id",
  "workcenter_id",
  "lot_id",
  "product_id",
];

export interface FailureGroup {
  key: string;
  code: string;
  siteId: number;
  siteName: string;
  count: number;
}

export interface MessageRow {
  id: number;
  key: string;
  site_id: Many2one;
  event_type: string | false;
  source: string | false;
  origin: string | false;
  error_code: string | false;
  error_message: string | false;
  attempts: number;
  create_date: string;
  rejected_by: "odoo" | "sidecar" | false;
  production_id: Many2one;
  workcenter_id: Many2one;
  lot_id: Many2one;
  product_id: Many2one;
}

interface GroupRow {
  error_code: string | false;
  site_id: Many2one;
  __count: number;
}

export function groupsFromReadGroup(rows: GroupRow[]): FailureGroup[] {
  return rows
    .map((r) => ({
      key: `${r.error_code || ""}/${r.site_id ? r.site_id[0] : 0}`,
      code: r.error_code || "",
      siteId: r.site_id ? r.site_id[0] : 0,
      siteName: r.site_id ? r.site_id[1] : "",
      count: r.__count,
    }))
    .sort(
      (a, b) =>
        b.count - a.count || a.code.localeCompare(b.code) || a.siteName.localeCompare(b.siteName),
    );
}

/**
 * The rejected messages, grouped by error code and site with counts; the payload and the error
 * side by side; edit and replay; bulk retry (with progress) and discard; links to the order,
 * lot, product and work center.
 */
export class ExceptionQueue extends Component {
  static override template = "plant_bridge.ExceptionQueue";
  static components = { Layout };
  static override props = { ...standardActionServiceProps };

  orm!: ORM;
  action!: ActionService;
  notification!: NotificationService;
  state = useState({
    siteId: 0,
    workcenterId: 0,
    lotId: 0,
    groups: [] as FailureGroup[],
    groupKey: "",
    messages: [] as MessageRow[],
    total: 0,
    focusedId: 0,
    selected: [] as number[],
    payload: "",
    originalPayload: "",
    largePayload: false,
    progress: null as null | { done: number; total: number; failed: number; discarding?: boolean },
    busy: false,
  });

  override setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    this.notification = useService("notification");
    const ctx = (this.props as { action?: { context?: Record<string, unknown> } }).action?.context;
    this.state.siteId = Number(ctx?.plant_bridge_site_id) || 0;
    this.state.workcenterId = Number(ctx?.plant_bridge_workcenter_id) || 0;
    this.state.lotId = Number(ctx?.plant_bridge_lot_id) || 0;
    onWillStart(() => this.load());
  }

  // ------------------------------------------------------------------ loading

  /** What waits for a person: rejected events, and deferred ones (parked behind a rejection of
   * their order, a finish under a quality hold, an order not confirmed yet). */
  baseDomain(): Domain {
    const domain: Domain = [["state", "in", ["rejected", "deferred"]]];
    if (this.state.siteId) domain.push(["site_id", "=", this.state.siteId]);
    if (this.state.workcenterId) domain.push(["workcenter_id", "=", this.state.workcenterId]);
    if (this.state.lotId) domain.push(["lot_id", "=", this.state.lotId]);
    return domain;
  }

  get group(): FailureGroup | undefined {
    return this.state.groups.find((g) => g.key === this.state.groupKey);
  }

  /** What to do about the chosen group's root cause. */
  get suggestion(): SuggestedFix | undefined {
    return this.group ? suggestedFix(this.group.code) : undefined;
  }

  applySuggestion() {
    const action = this.suggestion?.action;
    return action ? this.action.doAction(action) : undefined;
  }

  groupDomain(group = this.group): Domain {
    const domain = this.baseDomain();
    if (group) {
      domain.push(["error_code", "=", group.code || false], ["site_id", "=", group.siteId]);
    }
    return domain;
  }

  async load() {
    const rows = await this.orm.formattedReadGroup<GroupRow>(
      "plant_bridge.message",
      this.baseDomain(),
      ["error_code", "site_id"],
      ["__count"],
    );
    this.state.groups = groupsFromReadGroup(rows);
    if (!this.group) this.state.groupKey = this.state.groups[0]?.key ?? "";
    await this.loadMessages();
  }

  async loadMessages(limit = PAGE_SIZE) {
    if (!this.group) {
      this.state.messages = [];
      this.state.total = 0;
      return this.focus(0);
    }
    const domain = this.groupDomain();
    const [messages, total] = await Promise.all([
      this.orm.searchRead<MessageRow>("plant_bridge.message", domain, MESSAGE_FIELDS, {
        order: "id desc",
        limit,
      }),
      this.orm.searchCount("plant_bridge.message", domain),
    ]);
    this.state.messages = messages;
    this.state.total = total;
    const ids = new Set(messages.map((m) => m.id));
    this.state.selected = this.state.selected.filter((id) => ids.has(id));
    await this.focus(ids.has(this.state.focusedId) ? this.state.focusedId : (messages[0]?.id ?? 0));
  }

  async focus(id: number) {
    this.state.focusedId = id;
    if (!id) {
      this.state.payload = this.state.originalPayload = "";
      return;
    }
    const [row] = await this.orm.read<{ payload: string | false; payload_attachment_id: Many2one }>(
      "plant_bridge.message",
      [id],
      ["payload", "payload_attachment_id"],
    );
    if (this.state.focusedId !== id) return;
    this.state.largePayload = !!row?.payload_attachment_id;
    this.state.payload = this.state.originalPayload = prettyJson(row?.payload || "");
  }

  // ------------------------------------------------------------------ list interactions

  async chooseGroup(key: string) {
    this.state.groupKey = key;
    this.state.selected = [];
    await this.loadMessages();
  }

  async clearSiteFilter() {
    this.state.siteId = 0;
    this.state.workcenterId = 0;
    this.state.lotId = 0;
    await this.load();
  }

  toggle(id: number) {
    const i = this.state.selected.indexOf(id);
    if (i >= 0) this.state.selected.splice(i, 1);
    else this.state.selected.push(id);
  }

  get allSelected(): boolean {
    return (
      !!this.state.messages.length &&
      this.state.messages.every((m) => this.state.selected.includes(m.id))
    );
  }

  toggleAll() {
    this.state.selected = this.allSelected ? [] : this.state.messages.map((m) => m.id);
  }

  /** Arrow keys move through the list, space selects. */
  async onListKeydown(ev: KeyboardEvent) {
    const index = this.state.messages.findIndex((m) => m.id === this.state.focusedId);
    if (ev.key === " " && this.state.focusedId) {
      ev.preventDefault();
      return this.toggle(this.state.focusedId);
    }
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    ev.preventDefault();
    const next =
      ev.key === "ArrowDown"
        ? Math.min(this.state.messages.length - 1, index + 1)
        : Math.max(0, index - 1);
    const message = this.state.messages[next];
    if (message) {
      await this.focus(message.id);
      const row = (ev.currentTarget as HTMLElement | null)?.querySelector<HTMLElement>(
        `[data-id="${message.id}"]`,
      );
      row?.focus();
    }
  }

  get focused(): MessageRow | undefined {
    return this.state.messages.find((m) => m.id === this.state.focusedId);
  }

  // ------------------------------------------------------------------ payload

  get payloadError(): string {
    if (!this.state.payload.trim()) return _t("The payload is empty.");
    try {
      JSON.parse(this.state.payload);
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  }

  get payloadEdited(): boolean {
    return this.state.payload !== this.state.originalPayload;
  }

  onPayloadInput(ev: Event) {
    this.state.payload = (ev.target as HTMLTextAreaElement).value;
  }

  resetPayload() {
    this.state.payload = this.state.originalPayload;
  }

  /**
   * Replays the focused message: as it is (a retry, after fixing the cause in Odoo), or with the
   * edited payload, saved first as compact JSON.
   */
  async replay() {
    const message = this.focused;
    if (!message || this.payloadError || this.state.busy) return;
    this.state.busy = true;
    try {
      if (this.payloadEdited) {
        await this.orm.write("plant_bridge.message", [message.id], {
          payload: JSON.stringify(JSON.parse(this.state.payload)),
        });
        await this.orm.call("plant_bridge.message", "action_replay_edited", [[message.id]]);
      } else {
        await this.orm.call("plant_bridge.message", "action_retry", [[message.id]]);
      }
      await this.report([message.id]);
    } finally {
      this.state.busy = false;
    }
  }

  // ------------------------------------------------------------------ bulk

  /** Retries `ids` in chunks with a progress bar; a failing chunk is retried id by id. */
  async retry(ids: number[] = this.state.selected.length ? [...this.state.selected] : []) {
    if (!ids.length || this.state.busy) return;
    this.state.busy = true;
    this.state.progress = { done: 0, total: ids.length, failed: 0 };
    const refused: number[] = [];
    try {
      for (let i = 0; i < ids.length; i += RETRY_CHUNK) {
        const chunk = ids.slice(i, i + RETRY_CHUNK);
        try {
          await this.orm.call("plant_bridge.message", "action_retry", [chunk]);
        } catch {
          for (const id of chunk) {
            await this.orm.call("plant_bridge.message", "action_retry", [[id]]).catch(() => {
              this.state.progress!.failed++;
              refused.push(id);
            });
          }
        }
        this.state.progress!.done += chunk.length;
      }
      await this.report(ids, refused);
    } finally {
      this.state.busy = false;
      this.state.progress = null;
    }
  }

  /** Tells what became of replayed ids (applied, still rejected, queued for the sidecar). */
  async report(ids: number[], refused: number[] = []) {
    const rows = await this.orm.searchRead<{
      id: number;
      state: string;
      rejected_by: string | false;
    }>("plant_bridge.message", [["id", "in", ids]], ["state", "rejected_by"]);
    const applied = rows.filter((r) => r.state === "applied").length;
    const queued = rows.filter((r) => r.state === "rejected" && r.rejected_by === "sidecar").length;
    const failing = rows.filter(
      (r) => r.state === "rejected" && r.rejected_by !== "sidecar" && !refused.includes(r.id),
    ).length;
    const parts = [_t("%s applied", applied)];
    if (failing) parts.push(_t("%s still rejected", failing));
    if (queued) parts.push(_t("%s queued for the sidecar", queued));
    if (refused.length) parts.push(_t("%s refused by Odoo", refused.length));
    this.notification.add(parts.join(" · "), {
      type: failing || refused.length ? "warning" : "success",
    });
    this.state.selected = [];
    await this.load();
  }

  async discard(
    ids: number[] = this.state.selected.length
      ? [...this.state.selected]
      : this.focused
        ? [this.focused.id]
        : [],
  ) {
    if (!ids.length || this.state.busy) return;
    const wizard = await this.orm.call<Record<string, unknown>>(
      "plant_bridge.message",
      "action_open_discard_wizard",
      [ids],
    );
    // the wizard asks for the reason; the discarding itself goes in chunks, here
    await this.action.doAction(wizard, {
      additionalContext: { plant_bridge_discard_in_chunks: true },
      onClose: (infos?: { discard_reason?: string; message_ids?: number[] }) =>
        infos?.discard_reason
          ? this.discardInChunks(infos.message_ids || ids, infos.discard_reason)
          : this.load(),
    });
  }

  /** Discards `ids` with `reason` in chunks (a transaction each) with a progress bar, as
   * `retry` does: an interruption keeps the chunks done; a failing chunk is tried id by id. */
  async discardInChunks(ids: number[], reason: string) {
    if (!ids.length || this.state.busy) return;
    this.state.busy = true;
    this.state.progress = { done: 0, total: ids.length, failed: 0, discarding: true };
    let refused = 0;
    try {
      for (let i = 0; i < ids.length; i += RETRY_CHUNK) {
        const chunk = ids.slice(i, i + RETRY_CHUNK);
        try {
          await this.orm.call("plant_bridge.message", "action_discard", [chunk, reason]);
        } catch {
          for (const id of chunk) {
            await this.orm
              .call("plant_bridge.message", "action_discard", [[id], reason])
              .catch(() => {
                this.state.progress!.failed++;
                refused++;
              });
          }
        }
        this.state.progress!.done += chunk.length;
      }
      const parts = [_t("%s discarded", ids.length - refused)];
      if (refused) parts.push(_t("%s refused by Odoo", refused));
      this.notification.add(parts.join(" · "), { type: refused ? "warning" : "success" });
      this.state.selected = [];
    } finally {
      this.state.busy = false;
      this.state.progress = null;
      await this.load();
    }
  }

  // ------------------------------------------------------------------ links and helpers

  open(model: string, value: Many2one) {
    if (value) return openRecord(this.action, model, value[0]);
  }

  openMessage(id: number) {
    return openRecord(this.action, "plant_bridge.message", id);
  }

  when(value: string): string {
    return formatDatetime(parseServerDatetime(value));
  }

  get progressPercent(): number {
    const p = this.state.progress;
    return p && p.total ? Math.round((p.done / p.total) * 100) : 0;
  }
}

registry.category("actions").add("plant_bridge.exception_queue", ExceptionQueue);
