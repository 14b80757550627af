/**
 * The site's configuration as Odoo serves it (docs/odoo-api.md `get_config`), and the part of it
 * the local files (PLANT_BRIDGE_MAPPINGS, PLANT_BRIDGE_LEGACY) give. Types only.
 */

export type ConnectorKind =
  | "mqtt"
  | "file_drop"
  | "sql_source"
  | "http_source"
  | "sink_file"
  | "sink_sql"
  | "sink_http"
  | "sink_mqtt";

/** A connector as `get_config` returns it (secrets only reach the connector service account). */
export interface ConnectorConfig {
  id: number;
  name: string;
  kind: ConnectorKind;
  active: boolean;
  params: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** One version of a mapping; `origin_id` names the lineage's first version. */
export interface MappingConfig {
  id: number;
  name: string;
  connector_id: number | false | null;
  selector: string;
  event_type: string;
  expression: string;
  key_expression: string | false | null;
  version: number;
  state: "draft" | "shadow" | "active" | "archived";
  aggregation: Record<string, unknown> | null;
  origin_id?: number | false | null;
}

export interface ScheduleConfig {
  id: number;
  name: string;
  connector_id: number | false | null;
  mapping_id: number | false | null;
  cron: string;
  timezone: string | false | null;
  active: boolean;
}

/** A confirmed Sparkplug B binding: the machine an edge node (or one of its devices) is. */
export interface SparkplugBinding {
  group: string;
  edge: string;
  /** null: the edge node itself is the machine. */
  device: string | null;
  /** The work center's code, else its name (`$workcenter` in mappings of `spBv1.0/...`). */
  workcenter: string;
}

export interface SiteInfo {
  code: string;
  name: string;
  timezone: string | false;
  warehouse: string | false;
}

/** The site's configuration at one revision. */
export interface SiteConfig {
  site: string;
  revision: number;
  site_info: SiteInfo;
  connectors: ConnectorConfig[];
  mappings: MappingConfig[];
  schedules: ScheduleConfig[];
  sor: Record<string, string>;
  /** The site's confirmed Sparkplug B bindings (absent from configurations cached by older releases). */
  bindings?: SparkplugBinding[];
  /** When each class of events posts (absent from older Odoo releases: all in real time). */
  posting_windows?: PostingWindowConfig[];
}

/**
 * A posting window (Odoo's `plant_bridge.posting.window`): events of its class wait, shown as
 * waiting, until the next of its daily times (`batched`, site time zone) or the end of its hold.
 */
export type PostingWindowConfig = {
  id: number;
  name: string;
  /** `all`, a lane (`critical`, `bulk`) or one event type. */
  event_class: string;
} & (
  | { mode: "batched"; /** HH:MM in the site's time zone. */ times: string[] }
  | { mode: "hold"; /** ISO-8601 instants. */ start: string; end: string }
);

/** What the legacy runner needs of a site's configuration (from Odoo or PLANT_BRIDGE_LEGACY). */
export interface LegacySiteConfig {
  site: string;
  /** The site's time zone (schedules without their own run in it). */
  timezone: string;
  connectors: ConnectorConfig[];
  schedules: ScheduleConfig[];
  mappings: MappingConfig[];
}
