import type { EventType } from "./schema.js";

/** Fields every canonical event carries (ARCHITECTURE.md "Canonical events (v1)"). */
export interface EventEnvelope {
  /** Idempotency key, unique per site, at most 200 characters. */
  id: string;
  type: EventType;
  site: string;
  /** ISO-8601 with an offset. */
  occurredAt: string;
  attributes?: Record<string, unknown>;
}

export interface ProductionEvent extends EventEnvelope {
  type: "production";
  order: string;
  quantity: number;
  /** Unit of `quantity` as Odoo names it (default: the order's unit). */
  uom?: string;
  lot?: string;
  finish?: boolean;
  backorder?: boolean;
  /** By-products produced with this event, replacing Odoo's proposal for them. */
  byproducts?: ByproductReport[];
}

/** What was produced of one of the order's by-products (a tracked one with its lot). */
export interface ByproductReport {
  product: string;
  quantity: number;
  uom?: string;
  lot?: string;
}

export interface ConsumptionEvent extends EventEnvelope {
  type: "consumption";
  order: string;
  product: string;
  quantity: number;
  /** Unit of `quantity` as Odoo names it (default: the component move's unit). */
  uom?: string;
  lot?: string;
}

export interface ScrapEvent extends EventEnvelope {
  type: "scrap";
  product: string;
  quantity: number;
  /** Unit of `quantity` as Odoo names it (default: the product's unit). */
  uom?: string;
  reason?: string;
  order?: string;
  lot?: string;
  /** Where the goods were scrapped from: an internal location's full name or barcode. */
  location?: string;
}

export interface DowntimeEvent extends EventEnvelope {
  type: "downtime";
  workcenter: string;
  reason: string;
  start: string;
  end: string;
  description?: string;
}

export interface WorkorderStatusEvent extends EventEnvelope {
  type: "workorder_status";
  order: string;
  operation: string;
  status: "started" | "paused" | "finished";
  quantity?: number;
  /** Unit of `quantity` as Odoo names it (default: the order's unit). */
  uom?: string;
  /** Who pressed the button: a plant badge or an Odoo login (their own timer). */
  operator?: string;
}

/**
 * An operator clocks on (`start`) and / or off (`end`) a work order, setting it up or running
 * it; without `start` / `end`, `action` at `occurredAt`.
 */
export interface LaborEvent extends EventEnvelope {
  type: "labor";
  order: string;
  operation: string;
  /** A plant badge or an Odoo login. */
  operator: string;
  kind: "setup" | "run";
  start?: string;
  end?: string;
  action?: "clock_on" | "clock_off";
}

export type MachineState = "running" | "idle" | "down" | "setup" | "offline";

export interface MachineStatusEvent extends EventEnvelope {
  type: "machine_status";
  workcenter: string;
  status: MachineState;
  reason?: string;
  counters?: Record<string, number>;
}

export interface QualityEvent extends EventEnvelope {
  type: "quality";
  test: string;
  result: "pass" | "fail";
  value?: number | string | boolean;
  unit?: string;
  order?: string;
  lot?: string;
  product?: string;
  hold?: boolean;
}

/**
 * A nonconformance found on a lot, an order or one of its operations, with what the quality lead
 * decided to do with the goods (each the operation a person would do in Odoo).
 */
export interface NonconformanceEvent extends EventEnvelope {
  type: "nonconformance";
  order?: string;
  operation?: string;
  lot?: string;
  /** What is nonconforming (default: the order's finished product). */
  product?: string;
  quantity: number;
  uom?: string;
  defect: string;
  description?: string;
  disposition: "scrap" | "rework" | "use_as_is" | "return";
  /** Who approved it (badge or login); required for `use_as_is`. */
  approvedBy?: string;
  /** The `id` of the quality event that found it. */
  qualityEvent?: string;
  /** `rework` only: the rework BOM's reference (a rework order); without it, an unbuild. */
  bom?: string;
  /** Where the goods are: an internal location's full name or barcode. */
  location?: string;
}

export type RecordKind =
  "certificate_of_conformity" | "test_report" | "batch_record" | "measurements" | "other";

/**
 * A compliance record for a lot, an order or a delivery (and the customer it is for): a file
 * kept elsewhere (`uri`) or small inline `content`, with its SHA-256 either way.
 */
export interface RecordEvent extends EventEnvelope {
  type: "record";
  kind: RecordKind;
  title?: string;
  lot?: string;
  product?: string;
  order?: string;
  delivery?: string;
  customer?: string;
  sha256: string;
  uri?: string;
  content?: string;
  /** Of `content`: UTF-8 text (default) or base64 of the bytes. */
  encoding?: "text" | "base64";
  mediaType?: string;
}

export interface MaintenanceEvent extends EventEnvelope {
  type: "maintenance";
  workcenter?: string;
  equipment?: string;
  kind: "corrective" | "preventive";
  description: string;
}

/** What was picked of one product of a transfer (a tracked one with its lot). */
export interface TransferLine {
  product: string;
  quantity: number;
  uom?: string;
  lot?: string;
  package?: string;
}

/**
 * Goods moved: `product` / `quantity` from one location to another, or a transfer validated —
 * named (`picking`) or an order's step — with what was picked (`lines`, default: as reserved).
 */
export interface TransferEvent extends EventEnvelope {
  type: "transfer";
  product?: string;
  quantity?: number;
  uom?: string;
  lot?: string;
  package?: string;
  from?: string;
  to?: string;
  picking?: string;
  order?: string;
  step?: "pick_components" | "store_finished";
  lines?: TransferLine[];
  backorder?: boolean;
}

export type CanonicalEvent =
  | ProductionEvent
  | ConsumptionEvent
  | ScrapEvent
  | DowntimeEvent
  | WorkorderStatusEvent
  | LaborEvent
  | MachineStatusEvent
  | QualityEvent
  | NonconformanceEvent
  | MaintenanceEvent
  | TransferEvent
  | RecordEvent;

/** Compiles only while `CanonicalEvent` has one member per type of the schema's `EVENT_TYPES`. */
export const EVERY_TYPE_HAS_AN_EVENT: [EventType] extends [CanonicalEvent["type"]]
  ? [CanonicalEvent["type"]] extends [EventType]
    ? true
    : never
  : never = true;

/**
 * The business object an event belongs to: events of one key are applied in occurrence order
 * (ARCHITECTURE.md "Ordered per business object").
 */
export function orderKeyOf(event: CanonicalEvent): string {
  switch (event.type) {
    case "production":
    case "consumption":
    case "workorder_status":
    case "labor":
      return `${event.site}/order/${event.order}`;
    case "scrap":
      return event.order
        ? `${event.site}/order/${event.order}`
        : `${event.site}/product/${event.product}`;
    case "quality":
      if (event.order) return `${event.site}/order/${event.order}`;
      if (event.lot) return `${event.site}/lot/${event.lot}`;
      return `${event.site}/test/${event.test}`;
    case "nonconformance":
      return event.order
        ? `${event.site}/order/${event.order}`
        : `${event.site}/lot/${event.lot ?? ""}`;
    case "record":
      if (event.order) return `${event.site}/order/${event.order}`;
      if (event.lot) return `${event.site}/lot/${event.lot}`;
      return `${event.site}/delivery/${event.delivery ?? ""}`;
    case "downtime":
    case "machine_status":
      return `${event.site}/workcenter/${event.workcenter}`;
    case "transfer":
      if (event.order) return `${event.site}/order/${event.order}`;
      if (event.picking) return `${event.site}/picking/${event.picking}`;
      return `${event.site}/product/${event.product ?? ""}`;
    case "maintenance":
      return event.workcenter
        ? `${event.site}/workcenter/${event.workcenter}`
        : `${event.site}/equipment/${event.equipment ?? ""}`;
  }
}
