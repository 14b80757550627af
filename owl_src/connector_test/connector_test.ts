import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { formatDatetime, parseServerDatetime } from "../core/dates.js";
import { formatNumber } from "../core/format.js";
import { _t } from "../core/l10n.js";
import { useService, type Many2one, type ORM } from "../core/services.js";

/** How often the form asks whether a sidecar answered. */
export const POLL_MS = 2000;

export const TEST_FIELDS = [
  "state",
  "result",
  "sidecar",
  "duration_ms",
  "is_late",
  "create_date",
  "answered_at",
  "site_id",
];

export interface ConnectorTestRow {
  id: number;
  state: "pending" | "ok" | "failed" | "timeout";
  result: string | false;
  sidecar: string | false;
  duration_ms: number;
  is_late: boolean;
  create_date: string;
  answered_at: string | false;
  site_id: Many2one;
}

interface FormRecord {
  resId: number | false;
  isDirty?: boolean;
  save(): Promise<boolean>;
}

/**
 * "Test connection" on the connector form: Odoo cannot reach the plant network, so it asks the
 * site's sidecars (the request rides on their next heartbeat) and shows their answer.
 */
export class ConnectorTest extends Component {
  static override template = "plant_bridge.ConnectorTest";
  static override props = { ...standardWidgetProps };

  orm!: ORM;
  state = useState({ test: null as ConnectorTestRow | null, requesting: false });
  private timer: ReturnType<typeof setTimeout> | undefined;

  override setup() {
    this.orm = useService("orm");
    onWillStart(async () => {
      const id = this.record.resId;
      if (!id) return;
      const [last] = await this.orm.searchRead<ConnectorTestRow>(
        "plant_bridge.connector.test",
        [["connector_id", "=", id]],
        TEST_FIELDS,
        { order: "id desc", limit: 1 },
      );
      this.state.test = last ?? null;
      if (last?.state === "pending" && !last.is_late) this.poll(last.id);
    });
    onWillUnmount(() => clearTimeout(this.timer));
  }

  get record(): FormRecord {
    return (this.props as { record: FormRecord }).record;
  }

  get pending(): boolean {
    return (
      this.state.requesting || (this.state.test?.state === "pending" && !this.state.test.is_late)
    );
  }

  async testConnection() {
    if (this.pending) return;
    this.state.requesting = true;
    try {
      if (this.record.isDirty && !(await this.record.save())) return;
      const id = this.record.resId;
      if (!id) return;
      const testId = await this.orm.call<number>(
        "plant_bridge.connector",
        "action_test_connection",
        [[id]],
      );
      await this.refresh(testId);
    } finally {
      this.state.requesting = false;
    }
  }

  async refresh(testId: number) {
    const [test] = await this.orm.read<ConnectorTestRow>(
      "plant_bridge.connector.test",
      [testId],
      TEST_FIELDS,
    );
    this.state.test = test ?? null;
    if (test?.state === "pending" && !test.is_late) this.poll(testId);
  }

  poll(testId: number) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(testId), POLL_MS);
  }

  get tone(): string {
    const test = this.state.test;
    if (!test) return "";
    if (test.state === "ok") return "success";
    if (test.state === "pending" && !test.is_late) return "info";
    return test.state === "failed" ? "danger" : "warning";
  }

  get headline(): string {
    const test = this.state.test;
    if (!test) return "";
    if (test.state === "ok") return _t("Connected");
    if (test.state === "failed") return _t("Connection failed");
    if (test.state === "timeout" || test.is_late) return _t("No answer from a sidecar");
    return _t(
      "Waiting for a sidecar of %s to try it (it asks Odoo with every heartbeat)…",
      test.site_id ? test.site_id[1] : "",
    );
  }

  get detail(): string {
    const test = this.state.test;
    if (!test) return "";
    if (test.state === "pending" && test.is_late) {
      return _t("No sidecar of the site answered: is one running and sending heartbeats?");
    }
    const parts = [test.result || ""];
    if (test.sidecar) parts.push(_t("tested by %s", test.sidecar));
    if (test.duration_ms) parts.push(_t("%s ms", formatNumber(test.duration_ms, 1)));
    if (test.answered_at) parts.push(formatDatetime(parseServerDatetime(test.answered_at)));
    return parts.filter(Boolean).join(" · ");
  }
}

registry.category("view_widgets").add("plant_bridge_connector_test", { component: ConnectorTest });
