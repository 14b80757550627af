import { Component, onWillStart, useState } from "@odoo/owl";
import { AutoComplete } from "@web/core/autocomplete/autocomplete";
import { registry } from "@web/core/registry";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { formatDatetime, parseServerDatetime, toServerDatetime } from "../core/dates.js";
import { _t } from "../core/l10n.js";
import { openRecord } from "../core/navigation.js";
import { useService, type Many2one, type ActionService, type ORM } from "../core/services.js";
import {
  buildTimeline,
  type EntryKind,
  type HoldBlockRow,
  type NoteRow,
  type OutboundRow,
  type QualityRow,
  type ReplayRow,
  type TimelineEntry,
  type TraceMessageRow,
} from "./timeline.js";

export const RECENT_ORDERS = 12;

interface Production {
  id: number;
  name: string;
  product_id: Many2one;
  product_qty: number;
  product_uom_id: Many2one;
  state: string;
  date_start: string | false;
  picking_type_id?: Many2one;
}

/** A posting window of the order's site (`plant_bridge.posting.window`). */
interface WindowRow {
  id: number;
  name: string;
  event_class: string;
  mode: "batched" | "hold";
  post_times: string | false;
  hold_start: string | false;
  hold_end: string | false;
  timezone: string | false;
}

/** Event classes of a posting window that concern an order's events. */
const ORDER_CLASSES = [
  "all",
  "critical",
  "production",
  "consumption",
  "scrap",
  "workorder_status",
  "labor",
  "quality",
];
const CLASS_LABELS: Record<string, string> = { all: "all", critical: "critical lane" };

type Filter = "all" | EntryKind | "failures";

/**
 * The story of one manufacturing order in the integration; opened from the MO's "Plant Trace"
 * smart button (context active_id) or by picking an order here.
 */
export class OrderTrace extends Component {
  static override template = "plant_bridge.OrderTrace";
  static components = { Layout, AutoComplete };
  static override props = { ...standardActionServiceProps };

  orm!: ORM;
  action!: ActionService;
  state = useState({
    productionId: 0,
    production: null as Production | null,
    entries: [] as TimelineEntry[],
    windows: [] as { id: number; text: string }[],
    recent: [] as { id: number; name: string; count: number }[],
    filter: "all" as Filter,
    loading: false,
  });

  override setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    const props = this.props as {
      action?: { context?: Record<string, unknown>; params?: Record<string, unknown> };
    };
    const id =
      Number(props.action?.context?.active_id) || Number(props.action?.params?.production_id) || 0;
    onWillStart(async () => {
      await Promise.all([this.loadRecent(), id ? this.load(id) : null]);
    });
  }

  async loadRecent() {
    const groups = await this.orm.formattedReadGroup<{ production_id: Many2one; __count: number }>(
      "plant_bridge.message",
      [["production_id", "!=", false]],
      ["production_id"],
      ["__count"],
      { order: "create_date:max desc", limit: RECENT_ORDERS },
    );
    this.state.recent = groups
      .filter((g) => g.production_id)
      .map((g) => ({
        id: (g.production_id as [number, string])[0],
        name: (g.production_id as [number, string])[1],
        count: g.__count,
      }));
  }

  /**
   * The posting windows of the order's site (the site whose warehouse makes it) that can keep
   * its events waiting: batched windows, and holds not over yet.
   */
  async loadWindows(production: Production | undefined): Promise<{ id: number; text: string }[]> {
    const pickingType = production?.picking_type_id;
    if (!pickingType) return [];
    const rows = await this.orm.searchRead<WindowRow>(
      "plant_bridge.posting.window",
      [
        ["site_id.warehouse_id.manu_type_id", "=", pickingType[0]],
        ["event_class", "in", ORDER_CLASSES],
        "|",
        ["mode", "=", "batched"],
        ["hold_end", ">", toServerDatetime(Date.now())],
      ],
      ["name", "event_class", "mode", "post_times", "hold_start", "hold_end", "timezone"],
    );
    return rows.map((w) => {
      const events = CLASS_LABELS[w.event_class] ?? w.event_class;
      const text =
        w.mode === "hold"
          ? _t("%(name)s: %(events)s events wait (hold) until %(until)s", {
              name: w.name,
              events,
              until: formatDatetime(parseServerDatetime(w.hold_end)),
            })
          : _t("%(name)s: %(events)s events post at %(times)s (%(timezone)s)", {
              name: w.name,
              events,
              times: (w.post_times || "")
                .split(",")
                .map((t) => t.trim())
                .join(", "),
              timezone: w.timezone || "UTC",
            });
      return { id: w.id, text };
    });
  }

  async load(productionId: number) {
    this.state.loading = true;
    try {
      const [productions, outbound, messages, quality, blocks] = await Promise.all([
        this.orm.read<Production>(
          "mrp.production",
          [productionId],
          [
            "name",
            "product_id",
            "product_qty",
            "product_uom_id",
            "state",
            "date_start",
            "picking_type_id",
          ],
        ),
        this.orm.searchRead<OutboundRow>(
          "plant_bridge.outbound",
          [["production_id", "=", productionId]],
          ["key", "event_type", "state", "sink", "ack_message", "ack_date", "create_date"],
        ),
        this.orm.searchRead<TraceMessageRow>(
          "plant_bridge.message",
          [["production_id", "=", productionId]],
          [
            "key",
            "event_type",
            "state",
            "error_code",
            "error_message",
            "attempts",
            "occurred_at",
            "create_date",
            "res_model",
            "res_id",
            "res_name",
            "source",
            "discard_reason",
            "processed_at",
            "failure_history",
          ],
        ),
        this.orm.searchRead<QualityRow>(
          "plant_bridge.quality.result",
          [["production_id", "=", productionId]],
          [
            "name",
            "result",
            "value",
            "hold",
            "hold_state",
            "occurred_at",
            "create_date",
            "lot_id",
            "released_date",
            "released_by_id",
          ],
        ),
        this.orm.searchRead<HoldBlockRow>(
          "plant_bridge.hold.block",
          [
            "|",
            ["production_id", "=", productionId],
            "&",
            ["res_model", "=", "mrp.production"],
            ["res_id", "=", productionId],
          ],
          [
            "operation",
            "lot_id",
            "result_id",
            "res_model",
            "res_id",
            "res_name",
            "user_id",
            "create_date",
          ],
        ),
      ]);
      const ids = messages.map((m) => m.id);
      const [replays, notes] = ids.length
        ? await Promise.all([
            this.orm.searchRead<ReplayRow>(
              "plant_bridge.replay",
              [["message_id", "in", ids]],
              ["message_id", "state", "result_code", "create_date", "done_at"],
            ),
            this.orm.searchRead<NoteRow>(
              "mail.message",
              [
                ["model", "=", "plant_bridge.message"],
                ["res_id", "in", ids],
                ["body", "!=", ""],
              ],
              ["res_id", "body", "date", "author_id"],
            ),
          ])
        : [[], []];
      this.state.productionId = productionId;
      this.state.production = productions[0] ?? null;
      this.state.windows = await this.loadWindows(productions[0]);
      this.state.entries = buildTimeline({ outbound, messages, quality, blocks, replays, notes });
    } finally {
      this.state.loading = false;
    }
  }

  async choose(productionId: number) {
    await this.load(productionId);
    (
      this.props as { updateActionState?: (s: Record<string, unknown>) => void }
    ).updateActionState?.({
      active_id: productionId,
    });
  }

  get sources() {
    return [
      {
        placeholder: _t("Searching..."),
        options: async (request: string) => {
          const found = await this.orm.call<[number, string][]>(
            "mrp.production",
            "name_search",
            [],
            {
              name: request,
              limit: 8,
            },
          );
          if (!found.length) return [{ label: _t("No order found") }];
          return found.map(([id, name]) => ({ label: name, onSelect: () => this.choose(id) }));
        },
      },
    ];
  }

  get visibleEntries(): TimelineEntry[] {
    const f = this.state.filter;
    if (f === "all") return this.state.entries;
    if (f === "failures") return this.state.entries.filter((e) => e.failure);
    return this.state.entries.filter((e) => e.kind === f);
  }

  get filters(): { key: Filter; label: string; count: number }[] {
    const e = this.state.entries;
    return [
      { key: "all", label: _t("All"), count: e.length },
      {
        key: "release",
        label: _t("Releases"),
        count: e.filter((x) => x.kind === "release").length,
      },
      {
        key: "event",
        label: _t("Plant events"),
        count: e.filter((x) => x.kind === "event").length,
      },
      { key: "quality", label: _t("Quality"), count: e.filter((x) => x.kind === "quality").length },
      {
        key: "replay",
        label: _t("Replays and notes"),
        count: e.filter((x) => x.kind === "replay").length,
      },
      { key: "failures", label: _t("Failures"), count: e.filter((x) => x.failure).length },
    ];
  }

  openEntry(entry: TimelineEntry) {
    if (entry.link) return openRecord(this.action, entry.link.model, entry.link.id);
  }

  openProduction() {
    if (this.state.productionId)
      return openRecord(this.action, "mrp.production", this.state.productionId);
  }

  when(ms: number): string {
    return ms ? formatDatetime(ms) : "";
  }
}

registry.category("actions").add("plant_bridge.order_trace", OrderTrace);
