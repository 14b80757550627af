/**
 * What the legacy sinks write for a release: besides the order's header and one line per
 * component, what a legacy execution system runs the order with — the quantity left, priority
 * and origin, the operation consuming each component and the stock reserved for it (lot,
 * quantity, location), the work orders with their dates and work centers, the by-products — and
 * an `order_done` when Odoo closes the order.
 */
import type { OutboundRow } from "../../sidecar/src/contracts/odoo-api.js";
import { headerOf, linesOf, toCsv, toXml } from "../../sidecar/src/egress/release-records.js";

const release: OutboundRow = {
  id: 12,
  type: "order_release",
  order: "WH/MO/00012",
  created: "2026-11-26T08:00:00+00:00",
  payload: {
    type: "order_release",
    site: "main",
    id: "order_release:WH/MO/00012-002:1",
    order: "WH/MO/00012-002",
    name: "WH/MO/00012-002",
    backorder_of: "WH/MO/00012",
    product: "PB_FRAME",
    quantity: 2,
    remaining: 2,
    uom: "Units",
    due: "2026-11-27T16:00:00+00:00",
    start: "2026-11-26T08:00:00+00:00",
    state: "confirmed",
    priority: 1,
    origin: "SO/0042",
    components: [
      {
        product: "PB_STEEL",
        quantity: 4,
        uom: "Units",
        operation: "Cutting",
        lots: ["STEEL-1", "STEEL-2"],
        reserved: [
          { lot: "STEEL-1", quantity: 3, location: "WH/Stock/Shelf 1", package: null },
          { lot: "STEEL-2", quantity: 1, location: "WH/Stock", package: "PACK-7" },
        ],
      },
      { product: "PB_BOLT", quantity: 8, uom: "Units", operation: null, lots: [], reserved: [] },
    ],
    operations: [
      {
        name: "Cutting",
        workcenter: "Drill 1",
        sequence: 10,
        duration_expected: 20,
        start: "2026-11-26T08:00:00+00:00",
        end: "2026-11-26T08:20:00+00:00",
        state: "ready",
      },
    ],
    byproducts: [{ product: "PB_OFFCUT", quantity: 1, uom: "Units", operation: "Cutting" }],
  },
};

const done: OutboundRow = {
  id: 13,
  type: "order_done",
  order: "WH/MO/00012",
  created: "2026-11-26T09:00:00+00:00",
  payload: {
    type: "order_done",
    site: "main",
    id: "order_done:WH/MO/00012:2",
    order: "WH/MO/00012",
    name: "WH/MO/00012-001",
    product: "PB_FRAME",
    quantity: 1,
    produced: 1,
    uom: "Units",
    state: "done",
    finished: "2026-11-26T09:00:00+00:00",
    lots: [],
    backorder: "WH/MO/00012-002",
  },
};

describe("release records", () => {
  it("carry the quantity left, priority, origin, and each component's operation and reservation", () => {
    expect(headerOf(release)).toMatchObject({
      order: "WH/MO/00012-002",
      remaining: 2,
      priority: 1,
      origin: "SO/0042",
      backorder_of: "WH/MO/00012",
      produced: null,
      backorder: null,
    });
    expect(linesOf(release).map((l) => [l.product, l.operation, l.reserved])).toEqual([
      ["PB_STEEL", "Cutting", "STEEL-1=3@WH/Stock/Shelf 1|STEEL-2=1@WH/Stock"],
      ["PB_BOLT", null, ""],
    ]);
  });

  it("write the new CSV columns after the first ones, one line per component", () => {
    const [header, first, second] = toCsv(release, { delimiter: ";", header: true }).split("\r\n");
    expect(header).toBe(
      "release_id;type;order;product;quantity;uom;due;start;component;component_quantity;" +
        "component_uom;lots;remaining;priority;origin;produced;backorder;backorder_of;" +
        "component_operation;reserved",
    );
    expect(first!.split(";").slice(8)).toEqual([
      "PB_STEEL",
      "4",
      "Units",
      "STEEL-1|STEEL-2",
      "2",
      "1",
      "SO/0042",
      "",
      "",
      "WH/MO/00012",
      "Cutting",
      "STEEL-1=3@WH/Stock/Shelf 1|STEEL-2=1@WH/Stock",
    ]);
    expect(second!.split(";").slice(8, 9)).toEqual(["PB_BOLT"]);
  });

  it("write an XML document with reservations, work order dates and by-products", () => {
    const xml = toXml(release, "utf-8");
    expect(xml).toContain("<remaining>2</remaining>");
    expect(xml).toContain("<priority>1</priority>");
    expect(xml).toContain("<origin>SO/0042</origin>");
    expect(xml).toMatch(
      /<component line="1" product="PB_STEEL" quantity="4" uom="Units" operation="Cutting">[\s\S]*<reserved quantity="3" lot="STEEL-1" location="WH\/Stock\/Shelf 1"\/>\s*<reserved quantity="1" lot="STEEL-2" location="WH\/Stock" package="PACK-7"\/>/,
    );
    expect(xml).toContain(
      '<operation name="Cutting" workcenter="Drill 1" sequence="10" duration_expected="20" start="2026-11-26T08:00:00+00:00" end="2026-11-26T08:20:00+00:00" state="ready"',
    );
    expect(xml).toContain(
      '<byproduct product="PB_OFFCUT" quantity="1" uom="Units" operation="Cutting"',
    );
  });

  it("write an order Odoo closed as one line with what was produced and its backorder", () => {
    const lines = toCsv(done, { delimiter: ";", header: false }).split("\r\n");
    expect(lines).toHaveLength(2);
    const cells = lines[0]!.split(";");
    expect(cells.slice(0, 3)).toEqual(["order_done:WH/MO/00012:2", "order_done", "WH/MO/00012"]);
    expect(cells.slice(12, 18)).toEqual(["", "", "", "1", "WH/MO/00012-002", ""]);
    expect(toXml(done, "utf-8")).toContain("<backorder>WH/MO/00012-002</backorder>");
  });
});
