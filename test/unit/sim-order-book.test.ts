/**
 * The simulated plant's decisions on released orders: releases take turns at the hard cases —
 * components before the unit, the unit before its components (finished by a bare `finish`),
 * a finish one unit short that leaves a backorder — and the backorder's release is produced to
 * its end under the order key the plant already reported under. Closing or cancelling in Odoo
 * stops an order; a change keeps what was produced.
 */
import type { CanonicalEvent } from "../../sidecar/src/canonical/types.js";
import { createEventValidator } from "../../sidecar/src/canonical/validate.js";
import { createOrderBook, type NewEnvelope } from "../../sidecar/src/sim/order-book.js";

let seq = 0;
const envelope: NewEnvelope = (type) => ({
  id: `t-${++seq}`,
  type,
  site: "main",
  occurredAt: "2026-11-26T08:00:00.000Z",
});

/** Each event as [type, order, quantity, finish/backorder flags]. */
function brief(events: CanonicalEvent[]) {
  return events.map((e) => {
    if (e.type === "production")
      return ["production", e.order, e.quantity, (e.finish ? "F" : "") + (e.backorder ? "B" : "")];
    if (e.type === "consumption") return ["consumption", e.order, e.quantity, e.lot];
    return [e.type];
  });
}

const steel = { product: "PB_STEEL", quantity: 4, uom: "Units", lots: ["STEEL-9"] };
const reserved = [{ lot: "STEEL-1", quantity: 4, location: "WH/Stock/Shelf 1", package: null }];

function release(order: string, quantity: number, extra: Record<string, unknown> = {}) {
  return {
    type: "order_release",
    order,
    name: order,
    quantity,
    tracking: "none",
    components: [{ ...steel, quantity: 2 * quantity, reserved }],
    ...extra,
  };
}

describe("simulated plant's order book", () => {
  it("gives releases the stories in turn: consumption first, production first, short finish", () => {
    // random() = 0: always the oldest open order
    const book = createOrderBook({ run: "r1", random: () => 0 });
    expect(book.follow(release("WH/MO/00001", 2))).toBe(true);
    expect(book.follow(release("WH/MO/00002", 2))).toBe(true);
    expect(book.follow(release("WH/MO/00003", 3))).toBe(true);
    expect(["WH/MO/00001", "WH/MO/00002", "WH/MO/00003"].map((o) => book.get(o)?.story)).toEqual([
      "consume_first",
      "produce_first",
      "short_finish",
    ]);

    const unit = () => brief(book.produce(envelope));
    // components from the lot Odoo reserved, then the unit; the finish with the last one
    expect(unit()).toEqual([
      ["consumption", "WH/MO/00001", 2, "STEEL-1"],
      ["production", "WH/MO/00001", 1, ""],
    ]);
    expect(unit()).toEqual([
      ["consumption", "WH/MO/00001", 2, "STEEL-1"],
      ["production", "WH/MO/00001", 1, "F"],
    ]);
    // the unit before its components; the finish after the last unit's components
    expect(unit()).toEqual([
      ["production", "WH/MO/00002", 1, ""],
      ["consumption", "WH/MO/00002", 2, "STEEL-1"],
    ]);
    expect(unit()).toEqual([
      ["production", "WH/MO/00002", 1, ""],
      ["consumption", "WH/MO/00002", 2, "STEEL-1"],
      ["production", "WH/MO/00002", 0, "F"],
    ]);
    // one unit short: finished with a backorder for the rest
    expect(unit()).toEqual([
      ["consumption", "WH/MO/00003", 2, "STEEL-1"],
      ["production", "WH/MO/00003", 1, ""],
    ]);
    expect(unit()).toEqual([
      ["consumption", "WH/MO/00003", 2, "STEEL-1"],
      ["production", "WH/MO/00003", 1, "FB"],
    ]);
    expect(book.size).toBe(0);
    expect(unit()).toEqual([]);

    // Odoo releases the backorder under its own key; the plant produces it to its end under the
    // key it already reports under, which Odoo routes to the open backorder
    book.follow(release("WH/MO/00003-002", 1, { backorder_of: "WH/MO/00003" }));
    expect(book.get("WH/MO/00003-002")).toMatchObject({
      reportAs: "WH/MO/00003",
      story: "consume_first",
    });
    expect(unit()).toEqual([
      ["consumption", "WH/MO/00003", 2, "STEEL-1"],
      ["production", "WH/MO/00003", 1, "F"],
    ]);
    // the next release takes the next story in turn
    book.follow(release("WH/MO/00004", 2));
    expect(book.get("WH/MO/00004")?.story).toBe("consume_first");
  });

  it("stops an order Odoo closes or cancels and keeps what a change leaves produced", () => {
    const book = createOrderBook({ run: "r2", random: () => 0, stories: ["consume_first"] });
    book.follow(release("WH/MO/00010", 5, { tracking: "serial" }));
    const first = book.produce(envelope);
    book.follow(release("WH/MO/00010", 2, { type: "order_change", tracking: "serial" }));
    const second = book.produce(envelope);
    const serials = [...first, ...second].flatMap((e) => (e.type === "production" ? [e.lot] : []));
    expect(new Set(serials).size).toBe(2);
    expect(serials[0]).toMatch(/^SIM-WH-MO-00010-r2-/);
    expect(brief(second).at(-1)).toEqual(["production", "WH/MO/00010", 1, "F"]);

    book.follow(release("WH/MO/00011", 5));
    book.follow({ type: "order_done", order: "WH/MO/00011", produced: 5 });
    book.follow(release("WH/MO/00012", 5));
    book.follow({ type: "order_cancel", order: "WH/MO/00012" });
    expect(book.size).toBe(0);
    expect(book.follow({ type: "order_release", order: "WH/MO/00013", quantity: "many" })).toBe(
      false,
    );
    expect(book.follow({ type: "something_else", order: "WH/MO/00013" })).toBe(false);
  });

  it("consumes every component: from the lot Odoo reserved, or without lot when untracked", () => {
    const book = createOrderBook({ run: "r3", random: () => 0 });
    book.follow({
      type: "order_release",
      order: "WH/MO/00020",
      quantity: 2,
      components: [
        { product: "PB_STEEL", quantity: 4, lots: ["STEEL-9"], reserved },
        { product: "PB_BOLT", quantity: 6, lots: [], reserved: [] },
        { product: "PB_GLUE", quantity: 0 },
      ],
    });
    expect(brief(book.produce(envelope))).toEqual([
      ["consumption", "WH/MO/00020", 2, "STEEL-1"],
      ["consumption", "WH/MO/00020", 3, undefined],
      ["production", "WH/MO/00020", 1, ""],
    ]);
  });
});

describe("simulated plant's components", () => {
  it("takes each unit's serial, and a lot until its reserved quantity is used, then the next", () => {
    const book = createOrderBook({ run: "r4", random: () => 0 });
    book.follow({
      type: "order_release",
      order: "WH/MO/00030",
      quantity: 3,
      components: [
        {
          product: "PB_TOP",
          quantity: 3,
          tracking: "serial",
          reserved: ["TT1", "TT2", "TT3"].map((lot) => ({ lot, quantity: 1 })),
        },
        {
          product: "PB_RESIN",
          quantity: 6,
          tracking: "lot",
          reserved: [
            { lot: "R-1", quantity: 3 },
            { lot: "R-2", quantity: 2 },
          ],
        },
      ],
    });
    const units = [1, 2, 3].map(() =>
      brief(book.produce(envelope)).filter((e) => e[0] === "consumption"),
    );
    expect(units).toEqual([
      [
        ["consumption", "WH/MO/00030", 1, "TT1"],
        ["consumption", "WH/MO/00030", 2, "R-1"],
      ],
      [
        ["consumption", "WH/MO/00030", 1, "TT2"],
        ["consumption", "WH/MO/00030", 1, "R-1"],
        ["consumption", "WH/MO/00030", 1, "R-2"],
      ],
      // the last lot beyond its reservation
      [
        ["consumption", "WH/MO/00030", 1, "TT3"],
        ["consumption", "WH/MO/00030", 2, "R-2"],
      ],
    ]);
  });

  it("never consumes a tracked component without lot: its order waits until Odoo names one", () => {
    const book = createOrderBook({ run: "r5", random: () => 0 });
    const order = (reserved: object[]) => ({
      type: "order_release",
      order: "WH/MO/00031",
      quantity: 2,
      components: [{ product: "PB_RESIN", quantity: 2, tracking: "lot", lots: [], reserved }],
    });
    book.follow(order([]));
    expect(book.produce(envelope)).toEqual([]);
    book.follow({ ...order([{ lot: "R-7", quantity: 2 }]), type: "order_change" });
    expect(brief(book.produce(envelope))).toEqual([
      ["consumption", "WH/MO/00031", 1, "R-7"],
      ["production", "WH/MO/00031", 1, ""],
    ]);
  });

  it("takes up a change where it was: what was consumed of a lot stays consumed", () => {
    const book = createOrderBook({ run: "r6", random: () => 0 });
    const order = {
      type: "order_release",
      order: "WH/MO/00032",
      quantity: 3,
      components: [
        {
          product: "PB_TOP",
          quantity: 3,
          tracking: "serial",
          reserved: ["TT1", "TT2", "TT3"].map((lot) => ({ lot, quantity: 1 })),
        },
      ],
    };
    book.follow(order);
    expect(brief(book.produce(envelope))[0]).toEqual(["consumption", "WH/MO/00032", 1, "TT1"]);
    book.follow({ ...order, type: "order_change" });
    expect(brief(book.produce(envelope))[0]).toEqual(["consumption", "WH/MO/00032", 1, "TT2"]);
  });
});

describe("simulated operators", () => {
  const validate = createEventValidator();
  const withOperation = (order: string, quantity: number) =>
    release(order, quantity, {
      operations: [{ name: "Assembly", workcenter: "Assembly 1", sequence: 1 }],
    });

  it("set the work order up, run it (two operators at once) and finish it, all valid events", () => {
    const book = createOrderBook({ run: "r1", random: () => 0, stories: ["consume_first"] });
    book.follow(withOperation("WH/MO/00070", 2));
    const first = book.produce(envelope);
    const second = book.produce(envelope);
    for (const event of [...first, ...second]) expect(validate(event)).toMatchObject({ ok: true });
    const people = (events: CanonicalEvent[]) =>
      events.flatMap((e): unknown[][] =>
        e.type === "labor"
          ? [[e.type, e.operator, e.kind, "start" in e, "end" in e, e.action ?? null]]
          : e.type === "workorder_status"
            ? [[e.type, e.operator, e.status]]
            : [],
      );
    // the first unit: Ana sets up (a closed interval), then runs; Ben clocks on beside her
    expect(people(first)).toEqual([
      ["labor", "B-0001", "setup", true, true, null],
      ["labor", "B-0001", "run", true, false, null],
      ["labor", "B-0002", "run", false, false, "clock_on"],
    ]);
    const setup = first[0] as Extract<CanonicalEvent, { type: "labor" }>;
    const run = first[1] as Extract<CanonicalEvent, { type: "labor" }>;
    expect(Date.parse(setup.start!)).toBeLessThan(Date.parse(setup.end!));
    expect(run.start).toBe(setup.end);
    expect(first.every((e) => e.type !== "labor" || e.operation === "Assembly")).toBe(true);
    // the last unit: the work order is finished (by its first operator) before the order
    expect(people(second)).toEqual([["workorder_status", "B-0001", "finished"]]);
    expect(brief(second).map(([type]) => type)).toEqual([
      "consumption",
      "workorder_status",
      "production",
    ]);
  });

  it("report no people on an order without operations", () => {
    const book = createOrderBook({ run: "r2", random: () => 0, stories: ["consume_first"] });
    book.follow(release("WH/MO/00071", 1));
    expect(book.produce(envelope).some((e) => e.type === "labor")).toBe(false);
  });
});

describe("simulated operators and a stopped machine", () => {
  it("work no order whose operation's work center is not ready, and name that work center", () => {
    const book = createOrderBook({ run: "r3", random: () => 0, stories: ["consume_first"] });
    book.follow(
      release("WH/MO/00072", 1, {
        operations: [{ name: "Packing", workcenter: "Drill 1", sequence: 1 }],
      }),
    );
    expect(book.get("WH/MO/00072")).toMatchObject({ operation: "Packing", workcenter: "Drill 1" });
    // Drill 1 down: nobody clocks on there (Odoo would refuse: the work center is blocked)
    expect(book.produce(envelope, (o) => o.workcenter !== "Drill 1")).toEqual([]);
    expect(book.get("WH/MO/00072")).toMatchObject({ produced: 0 });
    // running again: the setup, the run and the finish follow
    const events = book.produce(envelope, (o) => o.workcenter !== "Assembly 9");
    expect(events.filter((e) => e.type === "labor")).toHaveLength(3);
    expect(events.some((e) => e.type === "workorder_status" && e.status === "finished")).toBe(true);
  });
});
