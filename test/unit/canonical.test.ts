import fc from "fast-check";
import {
  createMessageParser,
  DEFAULT_LIMITS,
  type ParsedItem,
} from "../../sidecar/src/canonical/parse.js";
import { EVENT_TYPES } from "../../sidecar/src/canonical/schema.js";
import { orderKeyOf } from "../../sidecar/src/canonical/types.js";
import { createEventValidator } from "../../sidecar/src/canonical/validate.js";
import { REJECTION_CODES } from "../../sidecar/src/errors.js";
import { at, samples } from "../helpers/samples.js";

const validate = createEventValidator();
const parse = createMessageParser();
const ctx = { site: "main", source: "mqtt" as const, origin: "plant-bridge/v1/main/events" };

function codeOf(item: ParsedItem | undefined): string {
  if (!item) return "missing";
  return item.kind === "event" ? "ok" : item.rejection.code;
}

describe("canonical validator", () => {
  it.each(EVENT_TYPES)("accepts a valid %s event", (type) => {
    const r = validate(samples[type]);
    expect(r).toEqual({ ok: true, event: samples[type] });
  });

  it("accepts a bare finish: a production of 0 with finish, as Odoo does", () => {
    const bare = { ...samples.production, quantity: 0, finish: true };
    expect(validate(bare)).toEqual({ ok: true, event: bare });
  });

  it.each([
    ["no id", { ...samples.scrap, id: undefined }, "schema", "/id"],
    ["unknown type", { ...samples.scrap, type: "teleport" }, "schema", "/type"],
    ["an extra field", { ...samples.scrap, color: "red" }, "schema", "/color"],
    ["a negative quantity", { ...samples.scrap, quantity: -1 }, "bad_quantity", "/quantity"],
    ["a zero quantity", { ...samples.consumption, quantity: 0 }, "bad_quantity", "/quantity"],
    [
      "a zero production without finish",
      { ...samples.production, quantity: 0, finish: false },
      "bad_quantity",
      "/quantity",
    ],
    ["a string quantity", { ...samples.production, quantity: "3" }, "bad_quantity", "/quantity"],
    [
      "a timestamp without offset",
      { ...samples.scrap, occurredAt: "2026-11-26T08:00:00" },
      "schema",
      "/occurredAt",
    ],
    [
      "a downtime that ends before it starts",
      { ...samples.downtime, end: "2026-11-26T06:00:00Z" },
      "schema",
      "/end",
    ],
    [
      "a maintenance without target",
      { ...samples.maintenance, workcenter: undefined },
      "schema",
      "/workcenter",
    ],
    ["an id of 201 characters", { ...samples.scrap, id: "x".repeat(201) }, "schema", "/id"],
    ["an id with a control character", { ...samples.scrap, id: "a\u0001b" }, "schema", "/id"],
    [
      "an unknown machine status",
      { ...samples.machine_status, status: "exploding" },
      "schema",
      "/status",
    ],
  ])("rejects %s", (_what, candidate, code, path) => {
    const clean = JSON.parse(JSON.stringify(candidate)) as unknown;
    const r = validate(clean);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.path).toBe(path);
    }
  });

  it.each([
    ["production", { ...samples.production, uom: "Dozens" }],
    ["consumption", { ...samples.consumption, uom: "g" }],
    ["scrap", { ...samples.scrap, uom: "kg" }],
    [
      "workorder_status",
      { ...samples.workorder_status, status: "finished", quantity: 2, uom: "Units" },
    ],
  ])("accepts a %s quantity in a named unit of measure", (_type, candidate) => {
    expect(validate(candidate)).toEqual({ ok: true, event: candidate });
  });

  it.each([
    ["a number", { ...samples.consumption, uom: 12 }],
    ["empty", { ...samples.production, uom: "" }],
    ["longer than a unit's name", { ...samples.scrap, uom: "x".repeat(65) }],
    ["on an event without quantity", { ...samples.downtime, uom: "kg" }],
  ])("rejects a unit of measure that is %s", (_what, candidate) => {
    const r = validate(candidate);
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.code, r.path]).toEqual(["schema", "/uom"]);
  });

  it("accepts the location a scrap was taken from, and only on a scrap", () => {
    const scrap = { ...samples.scrap, location: "WH/Stock/Shelf 1" };
    expect(validate(scrap)).toEqual({ ok: true, event: scrap });
    const r = validate({ ...samples.scrap, location: 7 });
    expect(r.ok).toBe(false);
    const other = validate({ ...samples.consumption, location: "WH/Stock" });
    expect(other.ok).toBe(false);
  });

  it("accepts by-products on a production event, and refuses malformed ones", () => {
    const withChips = {
      ...samples.production,
      byproducts: [
        { product: "PB_CHIPS", quantity: 2, lot: "C1" },
        { product: "PB_DUST", quantity: 0 },
      ],
    };
    expect(validate(withChips)).toEqual({ ok: true, event: withChips });
    for (const [byproducts, path] of [
      [[{ product: "PB_CHIPS" }], "/byproducts/0/quantity"],
      [[{ product: "PB_CHIPS", quantity: -1 }], "/byproducts/0/quantity"],
      [[{ product: "PB_CHIPS", quantity: 1, color: "red" }], "/byproducts/0/color"],
      [{ product: "PB_CHIPS", quantity: 1 }, "/byproducts"],
    ] as const) {
      const r = validate({ ...samples.production, byproducts });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.path).toBe(path);
    }
  });

  it("takes an operator on a work order status, and labor as an interval or a clock-on / off", () => {
    const withOperator = { ...samples.workorder_status, operator: "B-0001" };
    expect(validate(withOperator)).toEqual({ ok: true, event: withOperator });
    const clockOn = { ...samples.labor, start: undefined, end: undefined, action: "clock_on" };
    delete clockOn.start;
    delete clockOn.end;
    expect(validate(clockOn)).toEqual({ ok: true, event: clockOn });
    const clockOff = { ...samples.labor, kind: "run", start: undefined };
    delete clockOff.start;
    expect(validate(clockOff)).toEqual({ ok: true, event: clockOff });
    for (const [bad, path] of [
      [{ ...samples.labor, operator: undefined }, "/operator"],
      [{ ...samples.labor, kind: "lunch" }, "/kind"],
      [{ ...samples.labor, end: "2026-11-26T07:00:00Z" }, "/end"],
      // both an interval and an action, or neither: the path is ajv's pick among the branches
      [{ ...samples.labor, action: "clock_on" }, null],
      [{ ...clockOn, action: undefined }, null],
    ] as const) {
      const r = validate(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe("schema");
      if (!r.ok && path !== null) expect(r.path).toBe(path);
    }
  });

  it("takes a transfer as a move, a picking validated by name, or an order's step", () => {
    const envelope = { id: "t2", type: "transfer", site: "main", occurredAt: at };
    const byName = { ...envelope, picking: "WH/PC/00004" };
    const partial = {
      ...envelope,
      order: "WH/MO/00007",
      step: "pick_components",
      lines: [{ product: "FURN_8522", quantity: 2, lot: "LOT-1" }],
      backorder: false,
    };
    for (const good of [samples.transfer, byName, partial])
      expect(validate(good)).toEqual({ ok: true, event: good });
    for (const bad of [
      { ...samples.transfer, to: undefined }, // a move needs both ends
      { ...samples.transfer, picking: "WH/PC/00004" }, // a move and a picking
      { ...byName, order: "WH/MO/00007", step: "pick_components" }, // two pickings
      { ...partial, step: "ship" },
      { ...partial, lines: [] },
      { ...partial, lines: [{ product: "FURN_8522", quantity: -1 }] },
      { ...byName, backorder: "yes" },
      { ...envelope }, // neither
    ]) {
      const r = validate(JSON.parse(JSON.stringify(bad)));
      expect(r.ok ? "ok" : r.code).toBe("schema");
    }
    expect(orderKeyOf(partial as never)).toBe("main/order/WH/MO/00007");
    expect(orderKeyOf(byName as never)).toBe("main/picking/WH/PC/00004");
    expect(orderKeyOf(samples.transfer)).toBe("main/product/FURN_8522");
  });

  it("takes a compliance record by URI or inline, and refuses one that is both, neither or hostile", () => {
    const byUri = { ...samples.record, content: undefined, uri: "https://docs.example/coc/1.pdf" };
    delete byUri.content;
    expect(validate(byUri)).toEqual({ ok: true, event: byUri });
    const base64 = { ...samples.record, content: "dGVzdA==", encoding: "base64" };
    expect(validate(base64)).toEqual({ ok: true, event: base64 });
    const { lot: _lot, product: _product, ...noSubject } = samples.record;
    const { content: _content, ...neither } = samples.record;
    for (const [bad, path] of [
      [{ ...samples.record, sha256: "abc" }, "/sha256"],
      [{ ...samples.record, sha256: undefined }, "/sha256"],
      [{ ...samples.record, kind: "love_letter" }, "/kind"],
      [{ ...byUri, uri: "javascript:alert(1)" }, "/uri"],
      [{ ...byUri, uri: "https://x/a b" }, "/uri"],
      [{ ...samples.record, content: "x".repeat(90001) }, "/content"],
      [{ ...samples.record, mediaType: "text/html\r\nX: 1" }, "/mediaType"],
      [{ ...byUri, encoding: "base64" }, null],
      [{ ...samples.record, uri: "https://docs.example/1.pdf" }, null],
      [neither, null],
      [noSubject, null],
    ] as const) {
      const r = validate(bad);
      expect(r).toMatchObject({ ok: false, code: "schema" });
      if (!r.ok && path !== null) expect(r.path).toBe(path);
    }
  });

  it("takes a nonconformance with its disposition; use as is needs who approved it", () => {
    const useAsIs = { ...samples.nonconformance, disposition: "use_as_is", approvedBy: "B-0001" };
    expect(validate(useAsIs)).toEqual({ ok: true, event: useAsIs });
    const rework = { ...samples.nonconformance, disposition: "rework", bom: "RW-TABLE" };
    expect(validate(rework)).toEqual({ ok: true, event: rework });
    const { order: _order, lot: _lot, ...noSubject } = samples.nonconformance;
    for (const [bad, code] of [
      [{ ...samples.nonconformance, disposition: "use_as_is" }, "schema"],
      [{ ...samples.nonconformance, disposition: "bury" }, "schema"],
      [{ ...samples.nonconformance, bom: "RW-TABLE" }, "schema"],
      [{ ...samples.nonconformance, quantity: 0 }, "bad_quantity"],
      [{ ...samples.nonconformance, defect: "" }, "schema"],
      [{ ...samples.nonconformance, order: undefined, operation: "Assembly" }, "schema"],
      [noSubject, "schema"],
    ] as const) {
      expect(validate(bad)).toMatchObject({ ok: false, code });
    }
    expect(orderKeyOf(samples.nonconformance)).toBe("main/order/WH/MO/00001");
    expect(orderKeyOf({ ...samples.record, order: undefined })).toBe("main/lot/LOT-1");
  });

  it("orders events by business object", () => {
    expect(orderKeyOf(samples.production)).toBe("main/order/WH/MO/00001");
    expect(orderKeyOf(samples.consumption)).toBe("main/order/WH/MO/00001");
    expect(orderKeyOf(samples.downtime)).toBe("main/workcenter/Drill 1");
    expect(orderKeyOf(samples.machine_status)).toBe(orderKeyOf(samples.downtime));
    expect(orderKeyOf(samples.scrap)).toBe("main/product/FURN_8522");
  });
});

describe("canonical message parser", () => {
  it("takes one event or an array of events", () => {
    expect(parse(JSON.stringify(samples.scrap), ctx).map(codeOf)).toEqual(["ok"]);
    expect(
      parse(JSON.stringify([samples.scrap, samples.downtime, { bad: 1 }]), ctx).map(codeOf),
    ).toEqual(["ok", "ok", "schema"]);
  });

  it("gives an event without site the topic's site and rejects another site as unauthorized", () => {
    const { site: _site, ...noSite } = samples.scrap;
    const [a] = parse(JSON.stringify(noSite), ctx);
    expect(a?.kind === "event" && a.event.site).toBe("main");
    const [b] = parse(JSON.stringify({ ...samples.scrap, site: "other" }), ctx);
    expect(codeOf(b)).toBe("unauthorized");
    expect(b?.kind === "reject" && b.rejection.eventId).toBe("s1");
  });

  it("rejects bad JSON, bad UTF-8, prototype keys and oversize input with their codes, keeping the payload", () => {
    const [j] = parse("{not json", ctx);
    expect(codeOf(j)).toBe("invalid_json");
    expect(j?.kind === "reject" && j.rejection.payload).toBe("{not json");

    const [u] = parse(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), ctx);
    expect(codeOf(u)).toBe("invalid_json");
    expect(u?.kind === "reject" && u.rejection.payloadEncoding).toBe("base64");
    expect(u?.kind === "reject" && Buffer.from(u.rejection.payload, "base64")).toEqual(
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    );

    const [p] = parse('{"__proto__":{"admin":true},"id":"x"}', ctx);
    expect(codeOf(p)).toBe("schema");
    const [c] = parse('{"constructor":{"prototype":{"x":1}}}', ctx);
    expect(codeOf(c)).toBe("schema");

    const big = Buffer.alloc(DEFAULT_LIMITS.maxMessageBytes + 1, 0x20);
    const [t] = parse(big, ctx);
    expect(codeOf(t)).toBe("too_large");
    expect(t?.kind === "reject" && t.rejection.payloadSize).toBe(big.length);
    expect(t?.kind === "reject" && t.rejection.payload.length).toBe(
      DEFAULT_LIMITS.keptPayloadBytes,
    );

    const many = JSON.stringify(
      Array.from({ length: 1001 }, (_, i) => ({ ...samples.scrap, id: `s${i}` })),
    );
    expect(parse(many, ctx).map(codeOf)).toEqual(["too_large"]);
  });

  it("takes epoch milliseconds in every date-time field (occurredAt, start, end) as ISO-8601", () => {
    const start = Date.parse("2026-11-26T07:00:00Z");
    const [item] = parse(
      JSON.stringify({ ...samples.downtime, occurredAt: start, start, end: start + 600_000 }),
      ctx,
    );
    expect(item?.kind).toBe("event");
    const event = (item as Extract<ParsedItem, { kind: "event" }>).event;
    expect(event).toMatchObject({
      occurredAt: "2026-11-26T07:00:00.000Z",
      start: "2026-11-26T07:00:00.000Z",
      end: "2026-11-26T07:10:00.000Z",
    });
    // a number that is no date is still refused
    expect(codeOf(parse(JSON.stringify({ ...samples.downtime, end: 1e300 }), ctx)[0])).toBe(
      "schema",
    );
  });

  it("fingerprints identical bad input identically and different input differently", () => {
    const [a] = parse("garbage", ctx);
    const [b] = parse("garbage", ctx);
    const [c] = parse("garbage!", ctx);
    const fp = (i: ParsedItem | undefined) => (i?.kind === "reject" ? i.rejection.fingerprint : "");
    expect(fp(a)).toBe(fp(b));
    expect(fp(a)).not.toBe(fp(c));
  });
});

describe("property: the parser never throws and always answers a known code", () => {
  const known = new Set<string>(["ok", ...REJECTION_CODES]);

  it("for arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const items = parse(bytes, ctx);
        expect(items.length).toBeGreaterThanOrEqual(1);
        for (const i of items) expect(known.has(codeOf(i))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("for arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const items = parse(JSON.stringify(value), ctx);
        for (const i of items) {
          expect(known.has(codeOf(i))).toBe(true);
          if (i.kind === "event") expect(validate(i.event).ok).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("for valid events with one field replaced by anything: accepted only when still valid", () => {
    const typeArb = fc.constantFrom(...EVENT_TYPES);
    fc.assert(
      fc.property(
        typeArb,
        fc.string({ maxLength: 20 }),
        fc.jsonValue({ maxDepth: 3 }),
        (type, key, value) => {
          const candidate = { ...samples[type], [key]: value } as Record<string, unknown>;
          const [item] = parse(JSON.stringify(candidate), ctx);
          if (item?.kind === "event") {
            // Whatever got through must be a valid event of its declared type with a bounded id.
            expect(EVENT_TYPES).toContain(item.event.type);
            expect(item.event.id.length).toBeLessThanOrEqual(200);
            expect(item.event.site).toBe("main");
          } else {
            expect(known.has(codeOf(item))).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("for strings as ids: at most 200 characters, no control characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 260 }), (id) => {
        const [item] = parse(JSON.stringify({ ...samples.scrap, id }), ctx);
        const ok =
          [...id].length >= 1 &&
          [...id].length <= 200 &&
          ![...id].some((ch) => ch.charCodeAt(0) < 0x20);
        expect(codeOf(item)).toBe(ok ? "ok" : "schema");
      }),
      { numRuns: 1000 },
    );
  });
});
