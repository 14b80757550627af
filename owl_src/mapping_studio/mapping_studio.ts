import { Component, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { registry } from "@web/core/registry";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { formatDatetime, parseServerDatetime } from "../core/dates.js";
import { formatNumber, prettyJson } from "../core/format.js";
import { _t } from "../core/l10n.js";
import { openRecord } from "../core/navigation.js";
import {
  useService,
  type Many2one,
  type ActionService,
  type NotificationService,
  type ORM,
} from "../core/services.js";
import { topicBindings } from "../mapping_engine/selector.js";
import {
  applyCompletion,
  birthMetrics,
  filterCompletions,
  metricCompletion,
  payloadCompletions,
  prefixAt,
  variableCompletions,
  type Completion,
} from "./completion.js";
import type { MappingEngine, PreviewResult } from "./engine_types.js";

export const ENGINE_BUNDLE = "plant_bridge.mapping_engine";
/** Re-evaluate this long after the last keystroke. */
export const PREVIEW_DELAY_MS = 150;
export const SAMPLE_LIMIT = 50;

export const MAPPING_FIELDS = [
  "name",
  "site_id",
  "connector_id",
  "selector",
  "event_type",
  "expression",
  "key_expression",
  "sample_payload",
  "version",
  "state",
  "origin_id",
  "replaced_id",
];

/** The target event types of plant_bridge.mapping (EVENT_TYPES in its Python model). */
export const EVENT_TYPES: [string, () => string][] = [
  ["production", () => _t("Production")],
  ["consumption", () => _t("Consumption")],
  ["scrap", () => _t("Scrap")],
  ["downtime", () => _t("Downtime")],
  ["workorder_status", () => _t("Work Order Status")],
  ["labor", () => _t("Labor")],
  ["machine_status", () => _t("Machine Status")],
  ["quality", () => _t("Quality")],
  ["nonconformance", () => _t("Nonconformance")],
  ["maintenance", () => _t("Maintenance")],
  ["record", () => _t("Compliance Record")],
];

/** What a new mapping starts with: the message as it came (the validation then says what to add). */
export const STARTER_EXPRESSION = "$";

export interface MappingRow {
  id: number;
  name: string;
  site_id: Many2one;
  connector_id: Many2one;
  selector: string;
  event_type: string;
  expression: string;
  key_expression: string | false;
  sample_payload: string | false;
  version: number;
  state: "draft" | "shadow" | "active" | "archived";
  origin_id: Many2one;
  replaced_id: Many2one;
}

/** A Sparkplug B edge node or device seen by a sidecar (its birth certificate's metrics). */
export interface BindingRow {
  id: number;
  source: string;
  group_id: string;
  edge_node: string;
  device: string | false;
  metrics: string | false;
}

export const BINDING_FIELDS = ["source", "group_id", "edge_node", "device", "metrics"];

/** Whether a Sparkplug topic (`spBv1.0/<group>/<type>/<edge>[/<device>]`) is the binding's. */
export function sparkplugTopicOf(binding: BindingRow, topic: string): boolean {
  const [ns, group, , edge, device] = topic.split("/");
  return (
    ns === "spBv1.0" &&
    group === binding.group_id &&
    edge === binding.edge_node &&
    (device ?? "") === (binding.device || "")
  );
}

export interface SampleRow {
  id: number;
  source: string;
  payload: string;
  at: string;
}

interface Sample {
  key: string;
  label: string;
  source: string;
  payload: string;
  /** Shown. */
  at: string;
  /** ISO: when the sidecar received it (for a sample without one: when the Studio opened). */
  receivedAt: string;
}

/**
 * Example source for a selector: a topic with named segments by their name and the site by its
 * code, or a file line (`*.csv` → `sample.csv:1`).
 */
export function exampleSource(selector: string, site: string): string {
  if (!selector.includes("/")) return `${selector.replace(/\*/g, "sample")}:1`; // a file line
  return selector
    .split("/")
    .map((part) => {
      const named = /^\{(.+)\}$/.exec(part);
      if (named) return named[1] === "site" ? site : named[1];
      return part === "+" ? "x" : part === "#" ? "x" : part;
    })
    .join("/");
}

function lineageOf(m: MappingRow): number {
  return m.origin_id ? m.origin_id[0] : m.id;
}

/**
 * Edit a mapping's JSONata with the output and the canonical validation shown as you type, on
 * recent real samples of the connector or a pasted one; compare with the active version; save as
 * a new version, run it in shadow, activate it, roll back.
 */
export class MappingStudio extends Component {
  static override template = "plant_bridge.MappingStudio";
  static components = { Layout };
  static override props = { ...standardActionServiceProps };

  orm!: ORM;
  action!: ActionService;
  notification!: NotificationService;
  engine!: MappingEngine;
  state = useState({
    connectors: [] as { id: number; name: string; site_id: Many2one; kind: string }[],
    sites: {} as Record<number, string>,
    /** Each site's time zone: date-times without an offset are read in it, as the sidecar does. */
    siteZones: {} as Record<number, string>,
    connectorId: 0,
    mappings: [] as MappingRow[],
    mappingId: 0,
    samples: [] as SampleRow[],
    sampleKey: "mapping",
    pasted: "",
    pastedSource: "",
    expression: "",
    keyExpression: "",
    preview: null as PreviewResult | null,
    activePreview: null as PreviewResult | null,
    evaluating: false,
    busy: false,
    tab: "output" as "output" | "compare",
    /** The "New mapping" form, open or not, and what the admin typed in it. */
    draft: null as { name: string; selector: string; eventType: string } | null,
    /** Sparkplug devices of the connector's site, and the one picked (0: none). */
    bindings: [] as BindingRow[],
    bindingId: 0,
    /** The word typed before the caret in the expression (what completion completes). */
    prefix: "",
  });
  editor = useRef<HTMLTextAreaElement>("expression");
  private seq = 0;
  /** The reception time given to samples that have none, fixed so that comparisons hold. */
  private openedAt = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;

  override setup() {
    this.orm = useService("orm");
    this.action = useService("action");
    this.notification = useService("notification");
    onWillStart(async () => {
      const category = registry.category<MappingEngine>("plant_bridge");
      const [, connectors, sites] = await Promise.all([
        category.contains("mapping_engine") ? null : loadBundle(ENGINE_BUNDLE),
        this.orm.searchRead<{ id: number; name: string; site_id: Many2one; kind: string }>(
          "plant_bridge.connector",
          [["kind", "in", ["mqtt", "file_drop", "sql_source", "http_source"]]],
          ["name", "site_id", "kind"],
          { order: "site_id, name" },
        ),
        this.orm.searchRead<{ id: number; code: string; timezone: string | false }>(
          "plant_bridge.site",
          [],
          ["code", "timezone"],
        ),
      ]);
      this.engine = category.get("mapping_engine");
      this.state.connectors = connectors;
      this.state.sites = Object.fromEntries(sites.map((s) => [s.id, s.code]));
      this.state.siteZones = Object.fromEntries(
        sites.filter((s) => s.timezone).map((s) => [s.id, s.timezone as string]),
      );
      // start where the plant is live: the connector of an active mapping
      const [live] = await this.orm.searchRead<{ connector_id: Many2one }>(
        "plant_bridge.mapping",
        [
          ["state", "=", "active"],
          ["connector_id", "!=", false],
        ],
        ["connector_id"],
        { limit: 1 },
      );
      const start = connectors.find((c) => live?.connector_id && c.id === live.connector_id[0]);
      await this.loadConnector((start ?? connectors[0])?.id ?? 0);
    });
    onWillUnmount(() => clearTimeout(this.timer));
  }

  // ------------------------------------------------------------------ loading

  async loadConnector(connectorId: number, mappingId = 0) {
    this.state.connectorId = connectorId;
    if (!connectorId) {
      this.state.mappings = [];
      this.state.samples = [];
      return this.selectMapping(0);
    }
    const connector = this.state.connectors.find((c) => c.id === connectorId);
    const [mappings, samples, bindings] = await Promise.all([
      this.orm.searchRead<MappingRow>(
        "plant_bridge.mapping",
        [["connector_id", "=", connectorId]],
        MAPPING_FIELDS,
        { order: "selector, version desc, id desc" },
      ),
      this.orm.searchRead<SampleRow>(
        "plant_bridge.sample",
        this.sampleDomain(connectorId),
        ["source", "payload", "at"],
        { order: "at desc, id desc", limit: SAMPLE_LIMIT },
      ),
      // Sparkplug devices come over an MQTT connector: those its site's sidecars saw born
      connector?.kind === "mqtt" && connector.site_id
        ? this.orm.searchRead<BindingRow>(
            "plant_bridge.binding",
            [["site_id", "=", connector.site_id[0]]],
            BINDING_FIELDS,
            { order: "source" },
          )
        : [],
    ]);
    this.state.mappings = mappings;
    this.state.samples = samples;
    this.state.bindings = bindings;
    if (!bindings.some((b) => b.id === this.state.bindingId)) this.state.bindingId = 0;
    const keep = mappings.find((m) => m.id === mappingId) ?? this.defaultMapping(mappings);
    await this.selectMapping(keep?.id ?? 0);
  }

  /**
   * The connector's samples, and those its site's sidecars reported without naming a connector
   * (the selector filters them in `samples`).
   */
  sampleDomain(connectorId: number): unknown[] {
    const site = this.state.connectors.find((c) => c.id === connectorId)?.site_id;
    if (!site) return [["connector_id", "=", connectorId]];
    return [
      "|",
      ["connector_id", "=", connectorId],
      "&",
      ["connector_id", "=", false],
      ["site_id", "=", site[0]],
    ];
  }

  defaultMapping(mappings: MappingRow[]): MappingRow | undefined {
    return (
      mappings.find((m) => m.state === "active") ??
      mappings.find((m) => m.state !== "archived") ??
      mappings[0]
    );
  }

  async selectMapping(mappingId: number) {
    this.state.mappingId = mappingId;
    this.state.prefix = "";
    const mapping = this.mapping;
    this.state.expression = mapping?.expression ?? "";
    this.state.keyExpression = mapping?.key_expression || "";
    const matching = this.samples.find((s) => s.key.startsWith("sample:"));
    this.state.sampleKey = matching?.key ?? (mapping?.sample_payload ? "mapping" : "paste");
    if (!this.state.pastedSource && mapping) {
      this.state.pastedSource = exampleSource(mapping.selector, this.siteCode);
    }
    await this.evaluateAll();
  }

  // ------------------------------------------------------------------ derived state

  get mapping(): MappingRow | undefined {
    return this.state.mappings.find((m) => m.id === this.state.mappingId);
  }

  get siteCode(): string {
    const site = this.mapping?.site_id;
    return (site && this.state.sites[site[0]]) || "main";
  }

  /** The mapping's site's time zone (the sidecar reads offset-less date-times in it). */
  get siteZone(): string | undefined {
    const site = this.mapping?.site_id;
    return (site && this.state.siteZones[site[0]]) || undefined;
  }

  /** The active version this mapping would replace (same lineage or same selector). */
  get activeVersion(): MappingRow | undefined {
    const mapping = this.mapping;
    if (!mapping) return undefined;
    return this.state.mappings.find(
      (m) =>
        m.state === "active" &&
        (lineageOf(m) === lineageOf(mapping) || m.selector === mapping.selector),
    );
  }

  get dirty(): boolean {
    const m = this.mapping;
    return (
      !!m &&
      (this.state.expression !== m.expression ||
        this.state.keyExpression !== (m.key_expression || ""))
    );
  }

  /** Recent samples of the connector that the selector matches, then the mapping's own sample. */
  get samples(): Sample[] {
    const mapping = this.mapping;
    const topicSelector = !!mapping && mapping.selector.includes("/");
    const binding = this.binding;
    const list: Sample[] = this.state.samples
      .filter((s) => !topicSelector || topicBindings(mapping!.selector, s.source) !== null)
      .filter((s) => !binding || sparkplugTopicOf(binding, s.source))
      .map((s) => ({
        key: `sample:${s.id}`,
        label: s.source,
        source: s.source,
        payload: s.payload,
        at: formatDatetime(parseServerDatetime(s.at)),
        receivedAt: new Date(parseServerDatetime(s.at) ?? this.openedAt).toISOString(),
      }));
    if (mapping?.sample_payload) {
      list.push({
        key: "mapping",
        label: _t("Sample saved on the mapping"),
        source: exampleSource(mapping.selector, this.siteCode),
        payload: mapping.sample_payload,
        at: "",
        receivedAt: new Date(this.openedAt).toISOString(),
      });
    }
    return list;
  }

  get sample(): { source: string; payload: string; receivedAt: string } | undefined {
    if (this.state.sampleKey === "paste") {
      return {
        source: this.state.pastedSource,
        payload: this.state.pasted,
        receivedAt: new Date(this.openedAt).toISOString(),
      };
    }
    return this.samples.find((s) => s.key === this.state.sampleKey);
  }

  get binding(): BindingRow | undefined {
    return this.state.bindings.find((b) => b.id === this.state.bindingId);
  }

  /**
   * Everything completion offers: the picked device's metrics (its birth certificate), the
   * columns of the chosen sample then of the connector's other samples, the variables.
   */
  get allCompletions(): Completion[] {
    return [
      ...birthMetrics(this.binding?.metrics ?? false).map(metricCompletion),
      ...this.sampleColumns(),
      ...variableCompletions(this.state.preview?.bindings),
    ];
  }

  /** Columns of the samples, parsed once per set of samples (not at every keystroke). */
  private sampleColumns(): Completion[] {
    const chosen = this.sample?.payload;
    const payloads = this.samples.map((s) => s.payload);
    const list = chosen ? [chosen, ...payloads] : payloads;
    const key = `${this.state.sampleKey}\0${this.samples.map((s) => s.key).join(",")}\0${chosen?.length ?? 0}`;
    if (this.columnsCache?.key !== key || this.state.sampleKey === "paste")
      this.columnsCache = { key, value: payloadCompletions(list) };
    return this.columnsCache.value;
  }

  private columnsCache: { key: string; value: Completion[] } | undefined;

  /** What completion offers for the word being typed (everything when none is). */
  get completions(): Completion[] {
    return filterCompletions(this.allCompletions, this.state.prefix);
  }

  get versions(): MappingRow[] {
    const mapping = this.mapping;
    if (!mapping) return [];
    return this.state.mappings.filter((m) => lineageOf(m) === lineageOf(mapping));
  }

  get sameAsActive(): boolean | null {
    const a = this.state.activePreview;
    const b = this.state.preview;
    if (!a || !b || a.error || b.error) return null;
    return (
      JSON.stringify(a.events.map((e) => e.event)) === JSON.stringify(b.events.map((e) => e.event))
    );
  }

  // ------------------------------------------------------------------ live preview

  /** Runs `version`'s mapping (or its edited expression) on the chosen sample. */
  async run(
    version: MappingRow,
    expression: string,
    keyExpression: string,
  ): Promise<PreviewResult | null> {
    const sample = this.sample;
    if (!sample || !sample.payload.trim()) return null;
    return this.engine.preview({
      mapping: { id: version.id, name: version.name, version: version.version },
      ref: `m${lineageOf(version)}`,
      expression,
      keyExpression,
      eventType: version.event_type,
      site: this.siteCode,
      ...(this.siteZone && { timezone: this.siteZone }),
      selector: version.selector,
      source: sample.source,
      payload: sample.payload,
      receivedAt: sample.receivedAt,
    });
  }

  /** Evaluate the edited expression; a newer keystroke wins over a slower older evaluation. */
  async evaluate() {
    const seq = ++this.seq;
    this.state.evaluating = true;
    const mapping = this.mapping;
    const result = mapping
      ? await this.run(mapping, this.state.expression, this.state.keyExpression)
      : null;
    if (seq !== this.seq) return;
    this.state.preview = result;
    this.state.evaluating = false;
  }

  async evaluateAll() {
    const active = this.activeVersion;
    const [, activePreview] = await Promise.all([
      this.evaluate(),
      active ? this.run(active, active.expression, active.key_expression || "") : null,
    ]);
    this.state.activePreview = activePreview;
  }

  schedulePreview() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.evaluate(), PREVIEW_DELAY_MS);
  }

  onExpressionInput(ev: Event) {
    const editor = ev.target as HTMLTextAreaElement;
    this.state.expression = editor.value;
    this.state.prefix = prefixAt(editor.value, editor.selectionStart ?? editor.value.length);
    this.schedulePreview();
  }

  /** Inserts a completion in place of the word being typed, and goes on typing after it. */
  complete(completion: Completion) {
    const editor = this.editor.el;
    const caret = editor?.selectionStart ?? this.state.expression.length;
    const next = applyCompletion(this.state.expression, caret, completion);
    this.state.expression = next.text;
    this.state.prefix = "";
    if (editor) {
      editor.value = next.text;
      editor.focus();
      editor.setSelectionRange(next.caret, next.caret);
    }
    this.schedulePreview();
  }

  async chooseBinding(ev: Event) {
    this.state.bindingId = Number((ev.target as HTMLSelectElement).value);
    const first = this.samples.find((s) => s.key.startsWith("sample:"));
    if (first) this.state.sampleKey = first.key;
    await this.evaluateAll();
  }

  onKeyExpressionInput(ev: Event) {
    this.state.keyExpression = (ev.target as HTMLInputElement).value;
    this.schedulePreview();
  }

  onPasteInput(ev: Event) {
    this.state.pasted = (ev.target as HTMLTextAreaElement).value;
    this.state.sampleKey = "paste";
    this.schedulePreview();
  }

  onPasteSourceInput(ev: Event) {
    this.state.pastedSource = (ev.target as HTMLInputElement).value;
    this.schedulePreview();
  }

  /** Ctrl+Enter in the editor evaluates at once; Tab takes the first completion, Escape none. */
  onEditorKeydown(ev: KeyboardEvent) {
    if (ev.target === this.editor.el && this.state.prefix) {
      const [first] = this.completions;
      if (ev.key === "Tab" && first && !ev.shiftKey) {
        ev.preventDefault();
        return this.complete(first);
      }
      if (ev.key === "Escape") {
        ev.preventDefault();
        this.state.prefix = "";
        return;
      }
    }
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      clearTimeout(this.timer);
      void this.evaluate();
    }
  }

  async chooseSample(key: string) {
    this.state.sampleKey = key;
    await this.evaluateAll();
  }

  async chooseConnector(ev: Event) {
    await this.loadConnector(Number((ev.target as HTMLSelectElement).value));
  }

  async chooseMapping(ev: Event) {
    await this.selectMapping(Number((ev.target as HTMLSelectElement).value));
  }

  // ------------------------------------------------------------------ versions

  private async act(label: string, call: () => Promise<unknown>, selectId?: () => number) {
    if (this.state.busy) return;
    this.state.busy = true;
    try {
      const result = await call();
      const id = selectId ? selectId() : typeof result === "number" ? result : this.state.mappingId;
      await this.loadConnector(this.state.connectorId, id);
      this.notification.add(label, { type: "success" });
    } finally {
      this.state.busy = false;
    }
  }

  /** A draft is saved in place; any other state becomes a new draft version. */
  async save() {
    const mapping = this.mapping;
    if (!mapping || !this.dirty) return;
    const values = {
      expression: this.state.expression,
      key_expression: this.state.keyExpression || false,
    };
    if (mapping.state === "draft") {
      return this.act(_t("Draft saved"), () =>
        this.orm.write("plant_bridge.mapping", [mapping.id], values),
      );
    }
    return this.act(_t("New version saved as a draft"), () =>
      this.orm.call("plant_bridge.mapping", "action_new_version", [[mapping.id]], { values }),
    );
  }

  shadow() {
    const id = this.state.mappingId;
    return this.act(_t("Running in shadow: evaluated by the sidecar, never posted"), () =>
      this.orm.call("plant_bridge.mapping", "action_shadow", [[id]]),
    );
  }

  activate() {
    const id = this.state.mappingId;
    return this.act(_t("Version activated"), () =>
      this.orm.call("plant_bridge.mapping", "action_activate", [[id]]),
    );
  }

  rollback() {
    const active = this.activeVersion;
    if (!active || !active.replaced_id) return;
    const previous = active.replaced_id[0];
    return this.act(
      _t("Rolled back to the previous version"),
      () => this.orm.call("plant_bridge.mapping", "action_rollback", [[active.id]]),
      () => previous,
    );
  }

  // ------------------------------------------------------------------ new mapping

  openNewMapping() {
    this.state.draft = { name: "", selector: "", eventType: "machine_status" };
  }

  cancelNewMapping() {
    this.state.draft = null;
  }

  get canCreate(): boolean {
    const d = this.state.draft;
    return !!d && !!d.name.trim() && !!d.selector.trim() && !!this.state.connectorId;
  }

  /** A draft mapping of the chosen connector (and its site), then opened here to be shaped. */
  async createMapping() {
    const draft = this.state.draft;
    const connector = this.state.connectors.find((c) => c.id === this.state.connectorId);
    if (!draft || !connector || !connector.site_id || !this.canCreate) return;
    const values = {
      name: draft.name.trim(),
      selector: draft.selector.trim(),
      event_type: draft.eventType,
      expression: STARTER_EXPRESSION,
      site_id: connector.site_id[0],
      connector_id: connector.id,
      state: "draft",
    };
    await this.act(_t("Draft mapping created"), async () => {
      const [id] = await this.orm.create("plant_bridge.mapping", [values]);
      this.state.draft = null;
      this.state.pastedSource = "";
      return id;
    });
  }

  openForm() {
    if (this.state.mappingId)
      return openRecord(this.action, "plant_bridge.mapping", this.state.mappingId);
  }

  // ------------------------------------------------------------------ view helpers

  eventTypes = EVENT_TYPES;

  json(value: unknown): string {
    return value === undefined ? "" : JSON.stringify(value, null, 2);
  }

  pretty = prettyJson;

  stateLabel(state: MappingRow["state"]): string {
    return {
      draft: _t("Draft"),
      shadow: _t("Shadow"),
      active: _t("Active"),
      archived: _t("Archived"),
    }[state];
  }

  stateClass(state: MappingRow["state"]): string {
    return {
      draft: "text-bg-secondary",
      shadow: "text-bg-info",
      active: "text-bg-success",
      archived: "text-bg-light",
    }[state];
  }

  formatMs(ms: number): string {
    return _t("%s ms", formatNumber(ms, 1));
  }
}

registry.category("actions").add("plant_bridge.mapping_studio", MappingStudio);
