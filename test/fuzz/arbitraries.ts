/**
 * Generators shared by the fuzz suites: hostile inputs (deep nesting, huge key counts, long
 * strings, unrepresentable numbers, prototype keys, invalid UTF-8, lone surrogates, BOMs, fields
 * of the wrong type, truncations, random bytes) and valid canonical events to interleave with
 * them. `FUZZ_RUNS` sets how many inputs each parser gets (a short run inside `npm test` by
 * default, `npm run fuzz` for the long one); `FUZZ_SEED` replays a run.
 */
import fc from "fast-check";
import { EVENT_TYPES, type EventType } from "../../sidecar/src/canonical/schema.js";
import { samples } from "../helpers/samples.js";

/** Inputs per parser. @default 200 (the short run of `npm test`) */
export const FUZZ_RUNS = positive(process.env.FUZZ_RUNS, 200);
/** The seed of every property: a failure names it, `FUZZ_SEED=<seed>` replays it. */
export const FUZZ_SEED = positive(process.env.FUZZ_SEED, 20261203);
/** One in this many inputs is a valid event that must be kept. */
export const VALID_EVERY = 4;

function positive(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** fast-check parameters of a fuzz property: fixed seed, `FUZZ_RUNS` runs (or `runs`). */
export function fuzzParams<T>(runs = FUZZ_RUNS): fc.Parameters<T> {
  return { numRuns: runs, seed: FUZZ_SEED };
}

/** Deep enough to overflow a recursive walk (10,000 levels) or merely deep. */
const depth = fc.constantFrom(64, 500, 2_000, 10_000);

export const deepArray = depth.map((d) => "[".repeat(d) + "]".repeat(d));
export const deepObject = depth.map((d) => '{"a":'.repeat(d) + "1" + "}".repeat(d));
/** Deep nesting inside a field of an otherwise plausible event. */
export const deepField = fc
  .tuple(fc.constantFrom("site", "id", "type", "counters", "quantity", "attributes"), depth)
  .map(([field, d]) => {
    const { [field as "id"]: _drop, ...rest } = samples.scrap as Record<string, unknown>;
    const head = JSON.stringify({ ...rest, site: "SITE" }).slice(0, -1);
    return `${head},"${field}":${'{"x":['.repeat(d)}1${"]}".repeat(d)}}`;
  });

/** Objects with very many keys (parsers, validators and stringifiers walk all of them). */
export const hugeKeys = fc
  .constantFrom(1_000, 10_000, 20_000)
  .map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",")}}`);

/** Strings of every size around the limits (256 KiB message, 200-character id). */
export const longString = fc
  .tuple(fc.constantFrom(201, 4_096, 65_537, 200_000, 262_145), fc.constantFrom("id", "reason"))
  .map(([n, field]) => JSON.stringify({ ...samples.scrap, site: "SITE", [field]: "x".repeat(n) }));

/** Numbers JSON can spell but doubles cannot hold, and NaN-like text. */
export const oddNumber = fc.constantFrom(
  "1e400",
  "-1e400",
  "-0",
  "1e-400",
  "123456789012345678901234567890",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "1_000",
  ".5",
  "01",
  '"NaN"',
  '"1e400"',
);
export const oddQuantity = oddNumber.map((n) =>
  JSON.stringify({ ...samples.scrap, site: "SITE", quantity: 0 }).replace(
    '"quantity":0',
    `"quantity":${n}`,
  ),
);

/** Keys that name a prototype, at the top, nested, or as `constructor.prototype`. */
export const protoKeys = fc.constantFrom(
  '{"__proto__":{"admin":true},"id":"p1","type":"scrap"}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"constructor":1,"id":"p2"}',
  '{"prototype":{"x":1}}',
  '[{"a":{"b":{"__proto__":{"x":1}}}}]',
  '{"site":{"__proto__":null}}',
  '{"id":"p3","type":"scrap","counters":{"__proto__":{"good":1}}}',
  '{"\\u005f_proto__":{"x":1}}',
);

/** A value of the wrong type for any field: coercion traps, containers, extremes. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ toString: 1 }),
  fc.constant({ valueOf: 1, toString: 2 }),
  fc.constant({ toJSON: 1 }),
  fc.constant([{ toString: 1 }]),
  fc.constant([]),
  fc.constant({}),
  fc.constant(null),
  fc.constant(true),
  fc.constant(1e308),
  fc.constant(-0),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.constant("\u0000"),
  fc.constant("\ufeff"),
  fc.constant(""),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 40 }),
);

const FIELDS = [
  "id",
  "type",
  "site",
  "occurredAt",
  "order",
  "product",
  "quantity",
  "lot",
  "workcenter",
  "status",
  "counters",
  "start",
  "end",
  "reason",
  "finish",
  "hold",
  "value",
] as const;

/** A valid event of some type with one to three fields replaced by values of the wrong type. */
export const wrongTypes = fc
  .tuple(
    fc.constantFrom(...EVENT_TYPES),
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), wrongValue), { minLength: 1, maxLength: 3 }),
  )
  .map(([type, fields]) => {
    const event: Record<string, unknown> = { ...samples[type], site: "SITE" };
    for (const [k, v] of fields) event[k] = v;
    return JSON.stringify(event);
  });

/** Lone surrogates as JSON escapes, and the bytes a CESU-8 encoder would write for them. */
export const loneSurrogates = fc.oneof(
  fc
    .constantFrom("\\ud800", "\\udfff", "\\ud83d", "\\udc00\\ud800")
    .map((s) => JSON.stringify({ ...samples.scrap, site: "SITE" }).replace('"s1"', `"s1${s}"`)),
  fc.constantFrom(
    Buffer.from('{"id":"\xed\xa0\x80"}', "latin1"),
    Buffer.from('{"id":"a\xed\xbf\xbfb","type":"scrap"}', "latin1"),
  ),
);

/** Bytes that are not UTF-8: stray continuation bytes, overlongs, 0xFF, truncated sequences. */
export const invalidUtf8 = fc
  .tuple(
    fc.constantFrom(
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
    ),
    fc.nat(40),
  )
  .map(([bad, at]) => {
    const text = Buffer.from(JSON.stringify({ ...samples.scrap, site: "SITE" }));
    const cut = Math.min(at, text.length);
    return Buffer.concat([text.subarray(0, cut), Buffer.from(bad), text.subarray(cut)]);
  });

/** A byte order mark before, inside or doubled around an otherwise valid event. */
export const boms = fc
  .constantFrom("lead", "double", "inside", "utf16")
  .map((where): Uint8Array => {
    const text = JSON.stringify({ ...samples.scrap, site: "SITE" });
    if (where === "lead") return Buffer.from(`\ufeff${text}`);
    if (where === "double") return Buffer.from(`\ufeff\ufeff${text}`);
    if (where === "inside") return Buffer.from(text.replace(",", ",\ufeff"));
    return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
  });

/** A valid event cut anywhere. */
export const truncated = fc
  .tuple(fc.constantFrom(...EVENT_TYPES), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([type, f]) => {
    const text = JSON.stringify({ ...samples[type], site: "SITE" });
    return text.slice(0, Math.floor(text.length * f));
  });

export const randomBytes = fc.uint8Array({ maxLength: 2048 });
export const randomJson = fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.stringify(v));
/** Arrays of events, some valid (with the placeholder site), some not, some past the limit. */
export const eventArrays = fc
  .tuple(fc.array(fc.oneof(wrongTypes, truncated), { maxLength: 8 }), fc.constantFrom(0, 1001))
  .map(([items, pad]) => {
    const parsed = items.map((t) => {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return t;
      }
    });
    return JSON.stringify([...parsed, ...Array.from({ length: pad }, () => 0)]);
  });

/**
 * Any hostile canonical message, text or bytes. `SITE` in it stands for the channel's site (so
 * that the site check passes and deeper checks run); callers replace it with `withSite`.
 */
export const hostileMessage: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  deepArray,
  deepObject,
  deepField,
  hugeKeys,
  longString,
  oddNumber,
  oddQuantity,
  protoKeys,
  wrongTypes,
  loneSurrogates,
  invalidUtf8,
  boms,
  truncated,
  randomBytes,
  randomJson,
  eventArrays,
);

/** Puts the channel's site where a generator wrote `SITE` (in text and in UTF-8 bytes alike). */
export function withSite(input: string | Uint8Array, site: string): Buffer {
  const bytes = Buffer.from(input);
  const mark = Buffer.from("SITE");
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(mark); at >= 0; at = bytes.indexOf(mark, from)) {
    parts.push(bytes.subarray(from, at), Buffer.from(site));
    from = at + mark.length;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/** Ids of the valid events a suite interleaves: never produced by a hostile generator. */
export function validId(suite: string, n: number): string {
  return `fz-valid-${suite}-${n}`;
}

/** A valid canonical event of some type, for a site and id. */
export function validEvent(type: EventType, site: string, id: string): Record<string, unknown> {
  return { ...samples[type], site, id };
}

export const eventType = fc.constantFrom(...EVENT_TYPES);

// ---- Sparkplug B payloads ----------------------------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited protobuf field: tag bytes, length, content. */
function field(tag: number[], content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(tag), Buffer.from(varint(content.length)), content]);
}

/** A metric holding a template holding a metric ... `depth` times (protobuf recursion). */
export function nestedTemplates(depth: number): Buffer {
  let metric: Buffer = Buffer.from([0x0a, 0x01, 0x78, 0x20, 12]); // name "x", datatype String
  for (let i = 0; i < depth; i++) {
    const template = field([0x12], metric); // Template.metrics = 2
    metric = Buffer.concat([Buffer.from([0x20, 19]), field([0x92, 0x01], template)]);
  }
  return field([0x12], metric); // Payload.metrics = 2
}

/** A metric whose property set holds a property set ... `depth` times. */
export function nestedPropertySets(depth: number): Buffer {
  let set: Buffer = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) {
    const value = Buffer.concat([Buffer.from([0x08, 20]), field([0x4a], set)]); // type PropertySet
    set = Buffer.concat([field([0x0a], Buffer.from("k")), field([0x12], value)]);
  }
  const metric = Buffer.concat([field([0x0a], Buffer.from("m")), field([0x4a], set)]);
  return field([0x12], metric);
}

/** Many metrics, each a string, some named after prototypes. */
export function manyMetrics(count: number, name: (i: number) => string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const metric = Buffer.concat([
      field([0x0a], Buffer.from(name(i))),
      Buffer.from([0x20, 12]),
      field([0x7a], Buffer.from(String(i))), // string_value = 15
    ]);
    parts.push(field([0x12], metric));
  }
  return Buffer.concat(parts);
}

/** One metric of a datatype with raw bytes_value (arrays: packed little-endian values). */
export function bytesMetric(datatype: number, bytes: Uint8Array): Buffer {
  const metric = Buffer.concat([
    field([0x0a], Buffer.from("arr")),
    Buffer.from([0x20, datatype]),
    field([0x82, 0x01], bytes), // bytes_value = 16
  ]);
  return field([0x12], metric);
}

/** One metric with a uint64 long_value (or int_value) of a datatype: sign and width traps. */
export function numberMetric(datatype: number, long: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, long);
  while (v > 0x7fn) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  const metric = Buffer.concat([
    field([0x0a], Buffer.from("n")),
    Buffer.from([0x20, datatype, 0x58]), // long_value = 11 (varint)
    Buffer.from(bytes),
  ]);
  return field([0x12], metric);
}

const sparkplugDepth = fc.constantFrom(10, 100, 1_000, 10_000);

/** Built once: the deep and the huge payloads are costly to build and never change. */
function memo<A, R>(build: (a: A) => R): (a: A) => R {
  const cache = new Map<A, R>();
  return (a) => {
    if (!cache.has(a)) cache.set(a, build(a));
    return cache.get(a)!;
  };
}
const deepTemplates = memo(nestedTemplates);
const deepPropertySets = memo(nestedPropertySets);
const manyMetricsNamed = memo((key: string) => {
  const [n, name] = key.split(" ") as [string, string];
  return manyMetrics(Number(n), (i) => (i % 2 ? name : `${name}${i}`));
});

/** Hostile Sparkplug B payloads (bytes). */
export const hostileSparkplug: fc.Arbitrary<Uint8Array> = fc.oneof(
  randomBytes,
  sparkplugDepth.map(deepTemplates),
  sparkplugDepth.map(deepPropertySets),
  fc
    .tuple(
      fc.constantFrom(10, 1_000, 20_000),
      fc.constantFrom("__proto__", "constructor", "prototype", "toString", "bdSeq", "m"),
    )
    .map(([n, name]) => manyMetricsNamed(`${n} ${name}`)),
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 600 }))
    .map(([t, b]) => bytesMetric(t, b)),
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }))
    .map(([t, n]) => numberMetric(t, n)),
  // A valid payload cut short, or with a byte changed.
  fc
    .tuple(
      fc.constantFrom(
        nestedTemplates(3),
        manyMetrics(5, (i) => `m${i}`),
        numberMetric(4, -1n),
      ),
      fc.nat(),
      fc.option(fc.integer({ min: 0, max: 255 })),
    )
    .map(([bytes, at, flip]) => {
      const i = at % bytes.length;
      if (flip === null) return bytes.subarray(0, i);
      const copy = Buffer.from(bytes);
      copy[i] = flip;
      return copy;
    }),
);

// ---- Mapped topics -----------------------------------------------------------------------

/** Payloads a mapping sees: hostile messages, bare words, and count arrays with odd items. */
export const hostileMapped = fc.record({
  topic: fc.constantFrom("status" as const, "counts" as const, "raw" as const, "unmapped" as const),
  payload: fc.oneof(
    hostileMessage,
    fc.constantFrom("RUN", "STOP", "", " ", "RUN\u0000", "\ufeffRUN", "null", "true", "[]", "{}"),
    fc
      .array(fc.record({ order: wrongValue, qty: fc.oneof(wrongValue, fc.double()) }), {
        maxLength: 20,
      })
      .map((items) => JSON.stringify({ items })),
    fc.record({ id: wrongValue, state: wrongValue, at: wrongValue }).map((p) => JSON.stringify(p)),
  ),
});

/** Sparkplug messages of every type on the rig's edge node. */
export const hostileSparkplugMessage = fc.record({
  type: fc.constantFrom("NBIRTH", "NDATA", "DBIRTH", "DDATA", "NDEATH", "DDEATH", "NCMD"),
  payload: hostileSparkplug,
});

// ---- Legacy files --------------------------------------------------------------------------

export type LegacyKind = "csv" | "fixed" | "xml";

/** Cells of legacy rows: plausible, hostile, or breaking the format (quotes, separators). */
const cell = fc.oneof(
  fc.constantFrom("scrap", "FURN_8522", "1", "12,5", "-0", "1e400", "NaN", "", " ", "__proto__"),
  fc.constantFrom('"', '""', '"a', 'a"b', ",", ";", "\n", "\r\n", "\r", "\u0000", "\ufeff"),
  fc.constantFrom("2026-11-26 08:00", "2026-02-30T25:61:00", "1764144000000", "99999999999999999"),
  fc.string({ unit: "binary", maxLength: 30 }),
);

const HEADERS = ["id", "type", "product", "quantity", "occurredAt", "reason", "counters.good"];

const csvFile = fc
  .tuple(
    fc.oneof(
      fc.constant(HEADERS),
      fc.array(fc.oneof(fc.constantFrom(...HEADERS, "__proto__", "constructor", ""), cell), {
        minLength: 1,
        maxLength: 8,
      }),
    ),
    fc.array(fc.array(cell, { maxLength: 9 }), { maxLength: 12 }),
    fc.constantFrom(",", ";"),
  )
  .map(([header, rows, sep]) => [header, ...rows].map((r) => r.join(sep)).join("\n"));

const fixedFile = fc
  .array(fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), cell), { maxLength: 12 })
  .map((lines) => lines.join("\n"));

const xmlValue = fc.oneof(
  cell.map((c) => c.replace(/[<&]/g, "")),
  fc.constantFrom("&lt;", "&amp;", "&#0;", "&#x110000;", "&#xD800;", "&bogus;", "<![CDATA[x]]>"),
);
const xmlFile = fc.oneof(
  fc
    .array(fc.dictionary(fc.constantFrom(...HEADERS, "__proto__", "constructor"), xmlValue), {
      maxLength: 8,
    })
    .map(
      (events) =>
        `<export><events>${events
          .map(
            (e) =>
              `<event>${Object.entries(e)
                .map(([k, v]) => `<${k}>${v}</${k}>`)
                .join("")}</event>`,
          )
          .join("")}</events></export>`,
    ),
  depth.map(
    (d) =>
      `<export><events><event>${"<a>".repeat(d)}x${"</a>".repeat(d)}</event></events></export>`,
  ),
  depth.map(
    (d) => `<export><events>${"<event>".repeat(d)}${"</event>".repeat(d)}</events></export>`,
  ),
  fc.constantFrom(
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><export>&a;</export>',
    '<?xml version="1.0" encoding="utf-16"?><export/>',
    '<?xml version="1.0" encoding="bogus-enc"?><export/>',
    '<export><events><event __proto__="1" constructor="2"><id>x</id></event></events></export>',
    "<export><events><event>text only</event></events></export>",
    "<export><events><event/><event></event></events></export>",
    "<export",
    "",
  ),
  fc
    .constantFrom(1_000, 20_000)
    .map(
      (n) =>
        `<export><events><event ${Array.from({ length: n }, (_, i) => `a${i}="${i}"`).join(" ")}/></events></export>`,
    ),
);

/** A legacy file of some format: its text (or bytes), hostile or breaking. */
export const hostileFile = fc.oneof(
  fc.record({
    kind: fc.constant<LegacyKind>("csv"),
    content: fc.oneof(csvFile, randomBytes, invalidUtf8, boms),
  }),
  fc.record({
    kind: fc.constant<LegacyKind>("fixed"),
    content: fc.oneof(fixedFile, randomBytes, boms),
  }),
  fc.record({
    kind: fc.constant<LegacyKind>("xml"),
    content: fc.oneof(xmlFile, randomBytes, boms),
  }),
);

// ---- Webhooks --------------------------------------------------------------------------------

const headerText = fc.oneof(
  fc.constantFrom("", "0", "-1", "1e3", "99999999999999", "1.5", " 1", "sha256=", "SHA256=00"),
  fc.constantFrom(
    `sha256=${"0".repeat(64)}`,
    `sha256=${"g".repeat(64)}`,
    `sha256=${"a".repeat(65)}`,
  ),
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 80,
  }),
);

/** Webhook requests: hostile bodies, signed well, badly or not at all. */
export const hostileWebhook = fc.record({
  body: fc.oneof(hostileMessage, eventArrays),
  signing: fc.constantFrom(
    "valid" as const,
    "valid" as const,
    "replayed" as const,
    "stale" as const,
    "future" as const,
    "wrong" as const,
    "none" as const,
    "odd" as const,
  ),
  timestamp: headerText,
  signature: headerText,
  contentType: fc.constantFrom(
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "x/\u00ff",
  ),
});

// ---- GraphQL -----------------------------------------------------------------------------------

const SUBMIT = "mutation($e: [JSON!]!) { submitEvents(events: $e) { id status code message } }";

/** A request body: JSON text with the query and variables written out as given. */
function request(query: string, variables = "{}"): string {
  return `{"query":${JSON.stringify(query)},"variables":${variables}}`;
}

/** Hostile JSON texts spliced into variables (deep, wide, odd numbers, prototype keys). */
const hostileJsonText = fc.oneof(
  deepArray,
  deepObject,
  deepField,
  hugeKeys,
  oddQuantity,
  protoKeys,
  wrongTypes,
  randomJson,
);

const documents = fc.oneof(
  depth.map((d) => `{ ${"sidecar { ".repeat(d)}name${" }".repeat(d)} }`),
  depth.map(
    (d) =>
      `{ messages(filter: ${"{a:".repeat(d)}1${"}".repeat(d)}) { edges { node { eventId } } } }`,
  ),
  depth.map(
    (d) =>
      `query { deadLetters(first: ${"[".repeat(d)}1${"]".repeat(d)}) { edges { node { id } } } }`,
  ),
  fc
    .constantFrom(50, 3000)
    .map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: sidecar { name }`).join(" ")} }`),
  fc.constantFrom(30, 1000).map((n) => `{ sidecar ${"@include(if: true) ".repeat(n)}{ name } }`),
  fc.constant("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
  fc.constant("{ __schema { types { name } } }"),
  fc.constant(`{ productionOrders(first: 100000000) { edges { node { name } } } }`),
  fc.constant(`{ productionOrder(name: "${"x".repeat(100_000)}") { name } }`),
  fc.constant('subscription { eventProcessed(site: "SITE") { eventId } }'),
  fc
    .tuple(wrongValue, wrongValue, wrongValue)
    .map(
      ([id, product, quantity]) =>
        `mutation { reportScrap(input: {id: ${JSON.stringify(id) ?? "null"}, product: ${JSON.stringify(product) ?? "null"}, quantity: ${JSON.stringify(quantity) ?? "null"}}) { id status code } }`,
    ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
);

/** GraphQL request bodies: hostile documents, hostile variables of submitEvents, raw bytes. */
export const hostileGraphql: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  documents.map((q) => request(q)),
  hostileJsonText.map((e) => request(SUBMIT, `{"e":[${e}]}`)),
  hostileJsonText.map((e) => request(SUBMIT, `{"e":${e}}`)),
  fc
    .array(hostileJsonText, { minLength: 1, maxLength: 5 })
    .map((es) => request(SUBMIT, `{"e":[${es.join(",")}]}`)),
  hostileJsonText.map((v) => request("{ sidecar { name } }", v)),
  hostileJsonText.map((v) => `{"query":${v}}`),
  fc.oneof(randomBytes, invalidUtf8, boms, truncated),
);
