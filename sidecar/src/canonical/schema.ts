/**
 * Canonical events v1 as JSON Schema (draft 2020-12 subset understood by ajv): the envelope and
 * the event types of ARCHITECTURE.md (v1 and its additions, such as `labor`). These objects are the single source of truth; every
 * ingress validates with them and `npm run schemas` writes them to `schemas/` for other tools.
 */

export const EVENT_TYPES = [
  "production",
  "consumption",
  "scrap",
  "downtime",
  "workorder_status",
  "labor",
  "machine_status",
  "quality",
  "nonconformance",
  "maintenance",
  "transfer",
  "record",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Limits of the contract: `id` at most 200 characters. */
export const MAX_ID_LENGTH = 200;
const KEY = { type: "string", minLength: 1, maxLength: 200 } as const;
const TEXT = { type: "string", maxLength: 4000 } as const;
const QUANTITY = { type: "number", exclusiveMinimum: 0, maximum: 1e12 } as const;
const TIMESTAMP = { type: "string", format: "date-time", maxLength: 64 } as const;
/** The unit a quantity is in, as Odoo names it ("Units", "Dozens", "kg", "g"); Odoo converts. */
const UOM = {
  type: "string",
  minLength: 1,
  maxLength: 64,
  description:
    "Unit of measure of `quantity`, an active unit's name in Odoo; default: the unit of the order or move it lands on. Odoo converts it; an unknown unit or one of another kind is rejected `bad_uom`.",
} as const;

/** The SHA-256 of a document, 64 hexadecimal digits (as `sha256sum` prints it). */
const SHA256 = { type: "string", pattern: "^[0-9a-fA-F]{64}$" } as const;
/** Inline content of a `record`: at most 64 KiB once decoded (base64 of that is ~87 400 characters). */
export const MAX_RECORD_CONTENT_BYTES = 65536;

/** Who did it: a plant badge, or an Odoo login; Odoo resolves it to a user (`unknown_operator`). */
const OPERATOR = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description:
    "The person: a plant badge (the user's Plant Badge, or with Employees installed an employee's badge ID) or an Odoo login. Unknown: rejected `unknown_operator`.",
} as const;

const envelopeProperties = {
  id: { type: "string", minLength: 1, maxLength: MAX_ID_LENGTH, pattern: "^[^\\u0000-\\u001f]+$" },
  type: { enum: EVENT_TYPES },
  site: { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_.-]+$" },
  occurredAt: TIMESTAMP,
  attributes: {
    type: "object",
    description: "Free-form context from the source (kept in the trace, not interpreted).",
    maxProperties: 50,
  },
} as const;

export const envelopeSchema = {
  $id: "https://plant-bridge.dev/schemas/v1/envelope.json",
  title: "Plant Bridge canonical event envelope v1",
  type: "object",
  required: ["id", "type", "site", "occurredAt"],
  properties: envelopeProperties,
} as const;

function eventSchema(
  type: EventType,
  title: string,
  properties: Record<string, unknown>,
  required: string[],
  extra: Record<string, unknown> = {},
) {
  return {
    $id: `https://plant-bridge.dev/schemas/v1/${type}.json`,
    title,
    type: "object",
    additionalProperties: false,
    required: ["id", "type", "site", "occurredAt", ...required],
    properties: { ...envelopeProperties, type: { const: type }, ...properties },
    ...extra,
  };
}

export const eventSchemas: Record<EventType, ReturnType<typeof eventSchema>> = {
  production: eventSchema(
    "production",
    "Quantity produced on a manufacturing order",
    {
      order: KEY,
      quantity: { type: "number", minimum: 0, maximum: 1e12 },
      uom: UOM,
      lot: KEY,
      finish: { type: "boolean" },
      backorder: {
        type: "boolean",
        description: "On finish with less than planned: create a backorder (default: site policy).",
      },
      byproducts: {
        type: "array",
        maxItems: 50,
        description:
          "By-products produced with this event (the BOM's), replacing Odoo's proposal for them; a tracked one needs its lot.",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["product", "quantity"],
          properties: {
            product: KEY,
            quantity: { type: "number", minimum: 0, maximum: 1e12 },
            uom: UOM,
            lot: KEY,
          },
        },
      },
    },
    ["order", "quantity"],
    // 0 only with `finish` (the order is completed with what was reported): as Odoo takes it
    {
      if: { properties: { finish: { const: true } }, required: ["finish"] },
      else: { properties: { quantity: QUANTITY } },
    },
  ),
  consumption: eventSchema(
    "consumption",
    "Material consumed by a manufacturing order",
    { order: KEY, product: KEY, quantity: QUANTITY, uom: UOM, lot: KEY },
    ["order", "product", "quantity"],
  ),
  scrap: eventSchema(
    "scrap",
    "Scrapped material",
    {
      product: KEY,
      quantity: QUANTITY,
      uom: UOM,
      reason: TEXT,
      order: KEY,
      lot: KEY,
      location: KEY,
    },
    ["product", "quantity"],
  ),
  downtime: eventSchema(
    "downtime",
    "A closed downtime interval of a work center",
    {
      workcenter: KEY,
      reason: { type: "string", minLength: 1, maxLength: 200 },
      start: TIMESTAMP,
      end: TIMESTAMP,
      description: TEXT,
    },
    ["workcenter", "reason", "start", "end"],
  ),
  workorder_status: eventSchema(
    "workorder_status",
    "Work order started, paused or finished",
    {
      order: KEY,
      operation: KEY,
      status: { enum: ["started", "paused", "finished"] },
      quantity: { type: "number", minimum: 0, maximum: 1e12 },
      uom: UOM,
      operator: OPERATOR,
    },
    ["order", "operation", "status"],
  ),
  labor: eventSchema(
    "labor",
    "An operator clocked on / off a work order (setup or run)",
    {
      order: KEY,
      operation: KEY,
      operator: OPERATOR,
      kind: { enum: ["setup", "run"] },
      start: TIMESTAMP,
      end: TIMESTAMP,
      action: {
        enum: ["clock_on", "clock_off"],
        description: "Without start / end: clock on or off at `occurredAt`.",
      },
    },
    ["order", "operation", "operator", "kind"],
    {
      oneOf: [
        { anyOf: [{ required: ["start"] }, { required: ["end"] }], not: { required: ["action"] } },
        { required: ["action"], not: { anyOf: [{ required: ["start"] }, { required: ["end"] }] } },
      ],
    },
  ),
  machine_status: eventSchema(
    "machine_status",
    "Live state of a machine / work center",
    {
      workcenter: KEY,
      status: { enum: ["running", "idle", "down", "setup", "offline"] },
      reason: { type: "string", minLength: 1, maxLength: 200 },
      counters: {
        type: "object",
        maxProperties: 50,
        additionalProperties: { type: "number", minimum: 0 },
      },
    },
    ["workcenter", "status"],
  ),
  quality: eventSchema(
    "quality",
    "A quality test result, possibly holding a lot or an order",
    {
      test: KEY,
      result: { enum: ["pass", "fail"] },
      value: { type: ["number", "string", "boolean"], maxLength: 200 },
      unit: { type: "string", maxLength: 32 },
      order: KEY,
      lot: KEY,
      product: KEY,
      hold: { type: "boolean" },
    },
    ["test", "result"],
  ),
  nonconformance: eventSchema(
    "nonconformance",
    "A nonconformance and its disposition (scrap, rework, use as is, return to the supplier)",
    {
      order: KEY,
      operation: KEY,
      lot: KEY,
      product: {
        ...KEY,
        description:
          "What is nonconforming: default the order's finished product; with `lot`, needed when the order does not name it.",
      },
      quantity: QUANTITY,
      uom: UOM,
      defect: { type: "string", minLength: 1, maxLength: 200 },
      description: TEXT,
      disposition: { enum: ["scrap", "rework", "use_as_is", "return"] },
      approvedBy: {
        ...OPERATOR,
        description:
          "Who approved the disposition (a badge or a login); required for use_as_is. Unknown: rejected `unknown_operator`.",
      },
      qualityEvent: {
        ...KEY,
        description:
          "The `id` of the quality event that found it; default: the last failed result on the order or lot.",
      },
      bom: {
        ...KEY,
        description:
          "rework only: the rework bill of materials (its reference) for a rework order; without it the goods are unbuilt.",
      },
      location: KEY,
    },
    ["defect", "disposition", "quantity"],
    {
      anyOf: [{ required: ["order"] }, { required: ["lot"] }],
      allOf: [
        {
          if: { properties: { disposition: { const: "use_as_is" } } },
          then: { required: ["approvedBy"] },
        },
        { if: { required: ["operation"] }, then: { required: ["order"] } },
        {
          if: { required: ["bom"] },
          then: { properties: { disposition: { const: "rework" } } },
        },
      ],
    },
  ),
  maintenance: eventSchema(
    "maintenance",
    "A maintenance request for a work center or an equipment",
    {
      workcenter: KEY,
      equipment: KEY,
      kind: { enum: ["corrective", "preventive"] },
      description: { type: "string", minLength: 1, maxLength: 4000 },
    },
    ["kind", "description"],
    { anyOf: [{ required: ["workcenter"] }, { required: ["equipment"] }] },
  ),
  transfer: eventSchema(
    "transfer",
    "Goods moved between locations, or a step of a transfer validated",
    {
      product: KEY,
      quantity: QUANTITY,
      uom: UOM,
      lot: KEY,
      package: {
        ...KEY,
        description: "The package (its name) the goods are taken from; moved with them.",
      },
      from: { ...KEY, description: "Source location: its full name or barcode." },
      to: { ...KEY, description: "Destination location: its full name or barcode." },
      picking: { ...KEY, description: "A transfer (picking) of the site's warehouse, by name." },
      order: KEY,
      step: {
        enum: ["pick_components", "store_finished"],
        description:
          "With `order`: which of the order's transfers (2- and 3-step manufacturing routes).",
      },
      lines: {
        type: "array",
        minItems: 1,
        maxItems: 200,
        description:
          "What was picked of the transfer (partial quantities); without it, the transfer as reserved.",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["product", "quantity"],
          properties: {
            product: KEY,
            quantity: { type: "number", minimum: 0, maximum: 1e12 },
            uom: UOM,
            lot: KEY,
            package: KEY,
          },
        },
      },
      backorder: {
        type: "boolean",
        description:
          "When less than planned is picked: make a backorder for the rest (default: the operation type's policy, a backorder when it asks).",
      },
    },
    [],
    // a move between two locations, or the validation of a transfer named or of an order's step
    {
      oneOf: [
        {
          required: ["product", "quantity", "from", "to"],
          not: {
            anyOf: ["picking", "order", "step", "lines", "backorder"].map((f) => ({
              required: [f],
            })),
          },
        },
        {
          required: ["picking"],
          not: {
            anyOf: [
              "order",
              "step",
              "from",
              "to",
              "product",
              "quantity",
              "lot",
              "package",
              "uom",
            ].map((f) => ({ required: [f] })),
          },
        },
        {
          required: ["order", "step"],
          not: {
            anyOf: ["picking", "from", "to", "product", "quantity", "lot", "package", "uom"].map(
              (f) => ({ required: [f] }),
            ),
          },
        },
      ],
    },
  ),
  record: eventSchema(
    "record",
    "A compliance record (certificate, test report, batch record, measurements) for a lot, an order or a delivery",
    {
      kind: {
        enum: ["certificate_of_conformity", "test_report", "batch_record", "measurements", "other"],
      },
      title: { type: "string", minLength: 1, maxLength: 200 },
      lot: KEY,
      product: KEY,
      order: KEY,
      delivery: KEY,
      customer: {
        ...KEY,
        description:
          "Who the record is for: a customer's reference or exact name in Odoo; default: the delivery's customer.",
      },
      sha256: SHA256,
      uri: {
        type: "string",
        maxLength: 2048,
        pattern: "^(https?|sftp|ftps?|s3|smb|file)://[^\\s]+$",
        description: "Where the document is kept (http(s), sftp, ftp(s), s3, smb or file URL).",
      },
      content: {
        type: "string",
        maxLength: 90000,
        description: "The document itself when small (at most 64 KiB decoded): text, or base64.",
      },
      encoding: {
        enum: ["text", "base64"],
        description: "Of `content`: UTF-8 text (default) or base64 of the bytes.",
      },
      mediaType: {
        type: "string",
        maxLength: 100,
        pattern: "^[a-z]+/[A-Za-z0-9.+_-]+$",
      },
    },
    ["kind", "sha256"],
    {
      anyOf: [{ required: ["lot"] }, { required: ["order"] }, { required: ["delivery"] }],
      oneOf: [
        { required: ["uri"], not: { required: ["content"] } },
        { required: ["content"], not: { required: ["uri"] } },
      ],
      // an encoding without content is a sender that lost its document on the way
      if: { required: ["encoding"] },
      then: { required: ["content"] },
    },
  ),
};

/**
 * The date-time fields of each event type (`occurredAt`, a downtime's `start` and `end`, ...),
 * read from the schemas: each accepts ISO-8601 with an offset or epoch milliseconds.
 */
// A Map, not an object: `type` is input, and "constructor" must not find Object's.
export const DATE_TIME_FIELDS: ReadonlyMap<string, readonly string[]> = new Map(
  EVENT_TYPES.map((type) => [
    type,
    Object.entries(eventSchemas[type].properties)
      .filter(([, property]) => (property as { format?: string }).format === "date-time")
      .map(([name]) => name),
  ]),
);

/** The date-time fields of an event of `type`; of an unknown type, the envelope's `occurredAt`. */
export function dateTimeFieldsOf(type: unknown): readonly string[] {
  return (typeof type === "string" && DATE_TIME_FIELDS.get(type)) || ["occurredAt"];
}
