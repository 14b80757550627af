/**
 * An outbound row (order_release / order_change / order_cancel, docs/odoo-api.md
 * `fetch_outbound`) in the shapes legacy systems read: a header record, component lines, a CSV
 * text (one line per component) and an XML document.
 */
import { XMLBuilder } from "fast-xml-parser";
import type { OutboundRow } from "../odoo/outbound-poller.js";

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
}

export interface ReleaseLine {
  release_id: string;
  line: number;
  product: string;
  quantity: number;
  uom: string | null;
  lots: string;
}

interface Component {
  product?: unknown;
  quantity?: unknown;
  uom?: unknown;
  lots?: unknown;
}

interface Operation {
  name?: unknown;
  workcenter?: unknown;
  sequence?: unknown;
  duration_expected?: unknown;
}

const str = (v: unknown) => (v === undefined || v === null || v === false ? null : String(v));
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

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
  };
}

export function linesOf(row: OutboundRow): ReleaseLine[] {
  const components = Array.isArray(row.payload.components)
    ? (row.payload.components as Component[])
    : [];
  return components.map((c, i) => ({
    release_id: releaseId(row),
    line: i + 1,
    product: str(c.product) ?? "",
    quantity: num(c.quantity) ?? 0,
    uom: str(c.uom),
    lots: Array.isArray(c.lots) ? c.lots.map(String).join("|") : "",
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
] as const;

/** One line per component (one line for a release without components, and for a cancel). */
export function toCsv(row: OutboundRow, options: { delimiter: string; header: boolean }): string {
  const h = headerOf(row);
  const lines = linesOf(row);
  const base = [h.release_id, h.type, h.order, h.product, h.quantity, h.uom, h.due, h.start];
  const records = (lines.length ? lines : [undefined]).map((l) => [
    ...base,
    l?.product ?? null,
    l?.quantity ?? null,
    l?.uom ?? null,
    l?.lots ?? null,
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
  const operations = Array.isArray(row.payload.operations)
    ? (row.payload.operations as Operation[])
    : [];
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
      components: {
        component: linesOf(row).map((l) => ({
          "@_line": l.line,
          "@_product": l.product,
          "@_quantity": l.quantity,
          ...(l.uom && { "@_uom": l.uom }),
          lot: l.lots ? l.lots.split("|") : undefined,
        })),
      },
      operations: {
        operation: operations.map((o) => ({
          "@_name": str(o.name) ?? "",
          "@_workcenter": str(o.workcenter) ?? "",
          "@_sequence": str(o.sequence) ?? "",
          "@_duration_expected": str(o.duration_expected) ?? "",
        })),
      },
    },
  };
  return builder.build(doc) as string;
}
