/**
 * An outbound row (order_release / order_change / order_cancel / order_done, docs/odoo-api.md
 * `fetch_outbound`) in the shapes legacy systems read: a header record, component lines, a CSV
 * text (one line per component) and an XML document (components with their reservations, work
 * orders, by-products).
 */
import type { OutboundRow } from "../contracts/odoo-api.js";
import { XMLBuilder } from "fast-xml-parser";

export interface ReleaseHeader {
  /** The plant-side idempotency key (`order_release:WH/MO/00012:1`). */
  release_id: string;
  outbound_id: number;
  type: OutboundRow["type"];
  site: string;
  order: string;
  product: string | null;
  quantity: number | null;
  uom: string | null;
  due: string | null;
  start: string | null;
  state: string | null;
  /** What is left to produce on the order (what a backorder would carry). */
  remaining: number | null;
  /** 0 normal, 1 urgent (Odoo's priority). */
  priority: number | null;
  /** The document the order comes from (a sales order...). */
  origin: string | null;
  /** order_done: the quantity produced. */
  produced: number | null;
  /** order_done: the key of the backorder that carries on with the rest, if any. */
  backorder: string | null;
  /** The key of the order this one is the backorder of (a release made by a short close). */
  backorder_of: string | null;
}

export interface ReleaseLine {
  release_id: string;
  line: number;
  product: string;
  quantity: number;
  uom: string | null;
  lots: string;
  /** The work order's operation that consumes the component. */
  operation: string | null;
  /** Stock reserved for it: `lot=quantity@location` entries joined by `|` (`=4@WH/Stock` untracked). */
  reserved: string;
}

export interface Reservation {
  lot: string | null;
  quantity: number;
  location: string | null;
  package: string | null;
}

interface Component {
  product?: unknown;
  quantity?: unknown;
  uom?: unknown;
  lots?: unknown;
  operation?: unknown;
  reserved?: unknown;
}

interface Operation {
  name?: unknown;
  workcenter?: unknown;
  sequence?: unknown;
  duration_expected?: unknown;
  start?: unknown;
  end?: unknown;
  state?: unknown;
}

interface Byproduct {
  product?: unknown;
  quantity?: unknown;
  uom?: unknown;
  operation?: unknown;
}

const str = (v: unknown) => (v === undefined || v === null || v === false ? null : String(v));
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]).filter(Boolean) : []);

/** A component's reserved stock as the release carries it (malformed entries left out). */
export function reservationsOf(component: Component): Reservation[] {
  return list<Record<string, unknown>>(component.reserved).flatMap((r) => {
    const quantity = num(r.quantity);
    return quantity === null
      ? []
      : [{ lot: str(r.lot), quantity, location: str(r.location), package: str(r.package) }];
  });
}

const reservationText = (r: Reservation) => `${r.lot ?? ""}=${r.quantity}@${r.location ?? ""}`;

export function releaseId(row: OutboundRow): string {
  return str(row.payload.id) ?? `${row.type}:${row.order}:${row.id}`;
}

export function headerOf(row: OutboundRow): ReleaseHeader {
  const p = row.payload;
  return {
    release_id: releaseId(row),
    outbound_id: row.id,
    type: row.type,
    site: str(p.site) ?? "",
    order: str(p.order) ?? row.order,
    product: str(p.product),
    quantity: num(p.quantity),
    uom: str(p.uom),
    due: str(p.due),
    start: str(p.start),
    state: str(p.state),
    remaining: num(p.remaining),
    priority: num(p.priority),
    origin: str(p.origin),
    produced: num(p.produced),
    backorder: str(p.backorder),
    backorder_of: str(p.backorder_of),
  };
}

export function linesOf(row: OutboundRow): ReleaseLine[] {
  return list<Component>(row.payload.components).map((c, i) => ({
    release_id: releaseId(row),
    line: i + 1,
    product: str(c.product) ?? "",
    quantity: num(c.quantity) ?? 0,
    uom: str(c.uom),
    lots: Array.isArray(c.lots) ? c.lots.map(String).join("|") : "",
    operation: str(c.operation),
    reserved: reservationsOf(c).map(reservationText).join("|"),
  }));
}

const CSV_COLUMNS = [
  "release_id",
  "type",
  "order",
  "product",
  "quantity",
  "uom",
  "due",
  "start",
  "component",
  "component_quantity",
  "component_uom",
  "lots",
  "remaining",
  "priority",
  "origin",
  "produced",
  "backorder",
  "backorder_of",
  "component_operation",
  "reserved",
] as const;

/**
 * One line per component (one line for a release without components, a cancel and a done);
 * the columns added since the first version come last, so readers by position keep working.
 */
export function toCsv(row: OutboundRow, options: { delimiter: string; header: boolean }): string {
  const h = headerOf(row);
  const lines = linesOf(row);
  const base = [h.release_id, h.type, h.order, h.product, h.quantity, h.uom, h.due, h.start];
  const more = [h.remaining, h.priority, h.origin, h.produced, h.backorder, h.backorder_of];
  const records = (lines.length ? lines : [undefined]).map((l) => [
    ...base,
    l?.product ?? null,
    l?.quantity ?? null,
    l?.uom ?? null,
    l?.lots ?? null,
    ...more,
    l?.operation ?? null,
    l?.reserved ?? null,
  ]);
  const cell = (v: unknown) => {
    // A text cell starting like a formula (=, +, -, @, tab, CR) is read by spreadsheet programs
    // as one (CSV injection): it is written with a leading apostrophe. Numbers stay numbers.
    const raw = v === null || v === undefined ? "" : String(v);
    const text = typeof v === "string" && /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
    return /[",\r\n;\t]/.test(text) || text.includes(options.delimiter)
      ? `"${text.replace(/"/g, '""')}"`
      : text;
  };
  const out = records.map((r) => r.map(cell).join(options.delimiter));
  if (options.header) out.unshift(CSV_COLUMNS.join(options.delimiter));
  return `${out.join("\r\n")}\r\n`;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  format: true,
  suppressEmptyNode: true,
  processEntities: true,
});

export function toXml(row: OutboundRow, encoding: string): string {
  const h = headerOf(row);
  const operations = list<Operation>(row.payload.operations);
  const components = list<Component>(row.payload.components);
  const doc = {
    "?xml": { "@_version": "1.0", "@_encoding": encoding.toUpperCase() },
    release: {
      "@_id": h.release_id,
      "@_type": h.type,
      "@_site": h.site,
      order: h.order,
      product: h.product ?? undefined,
      quantity: h.quantity ?? undefined,
      uom: h.uom ?? undefined,
      due: h.due ?? undefined,
      start: h.start ?? undefined,
      state: h.state ?? undefined,
      remaining: h.remaining ?? undefined,
      priority: h.priority ?? undefined,
      origin: h.origin ?? undefined,
      produced: h.produced ?? undefined,
      backorder: h.backorder ?? undefined,
      backorder_of: h.backorder_of ?? undefined,
      components: {
        component: linesOf(row).map((l, i) => ({
          "@_line": l.line,
          "@_product": l.product,
          "@_quantity": l.quantity,
          ...(l.uom && { "@_uom": l.uom }),
          ...(l.operation && { "@_operation": l.operation }),
          lot: l.lots ? l.lots.split("|") : undefined,
          reserved: reservationsOf(components[i]!).map((r) => ({
            "@_quantity": r.quantity,
            ...(r.lot && { "@_lot": r.lot }),
            ...(r.location && { "@_location": r.location }),
            ...(r.package && { "@_package": r.package }),
          })),
        })),
      },
      operations: {
        operation: operations.map((o) => ({
          "@_name": str(o.name) ?? "",
          "@_workcenter": str(o.workcenter) ?? "",
          "@_sequence": str(o.sequence) ?? "",
          "@_duration_expected": str(o.duration_expected) ?? "",
          ...(str(o.start) && { "@_start": str(o.start) }),
          ...(str(o.end) && { "@_end": str(o.end) }),
          ...(str(o.state) && { "@_state": str(o.state) }),
        })),
      },
      byproducts: {
        byproduct: list<Byproduct>(row.payload.byproducts).map((b) => ({
          "@_product": str(b.product) ?? "",
          "@_quantity": num(b.quantity) ?? 0,
          ...(str(b.uom) && { "@_uom": str(b.uom) }),
          ...(str(b.operation) && { "@_operation": str(b.operation) }),
        })),
      },
    },
  };
  return builder.build(doc) as string;
}
