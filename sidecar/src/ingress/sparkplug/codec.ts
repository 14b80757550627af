/**
 * Sparkplug B payloads: protobuf with the schema of the specification (sparkplug_b.proto),
 * decoded into plain JSON-able values that mappings read. Integer types are turned back into
 * signed or unsigned numbers by their datatype (64-bit values beyond 2^53 as decimal strings),
 * arrays from their little-endian bytes, bytes as base64.
 */
import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { projectPath } from "../../paths.js";

export const DATA_TYPES = [
  "Unknown",
  "Int8",
  "Int16",
  "Int32",
  "Int64",
  "UInt8",
  "UInt16",
  "UInt32",
  "UInt64",
  "Float",
  "Double",
  "Boolean",
  "String",
  "DateTime",
  "Text",
  "UUID",
  "DataSet",
  "Bytes",
  "File",
  "Template",
  "PropertySet",
  "PropertySetList",
  "Int8Array",
  "Int16Array",
  "Int32Array",
  "Int64Array",
  "UInt8Array",
  "UInt16Array",
  "UInt32Array",
  "UInt64Array",
  "FloatArray",
  "DoubleArray",
  "BooleanArray",
  "StringArray",
  "DateTimeArray",
] as const;

export type DataTypeName = (typeof DATA_TYPES)[number];
export type MetricValue =
  number | string | boolean | null | MetricValue[] | { [k: string]: MetricValue };

export interface SparkplugMetric {
  name: string | null;
  alias: number | null;
  /** Epoch ms. */
  timestamp: number | null;
  datatype: DataTypeName | null;
  value: MetricValue;
  isHistorical: boolean;
  isTransient: boolean;
  isNull: boolean;
  properties?: Record<string, MetricValue>;
}

export interface SparkplugPayload {
  timestamp: number | null;
  seq: number | null;
  uuid: string | null;
  metrics: SparkplugMetric[];
}

/** What encoding needs of a metric (tests, the edge simulator, NCMD). */
export interface MetricInput {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype: DataTypeName;
  value?: number | bigint | string | boolean | null;
  isHistorical?: boolean;
}

type Decoded = Record<string, unknown>;

let payloadType: protobuf.Type | undefined;
function Payload(): protobuf.Type {
  if (!payloadType) {
    const text = readFileSync(
      projectPath("sidecar/src/ingress/sparkplug/sparkplug_b.proto"),
      "utf8",
    );
    payloadType = protobuf
      .parse(text, { keepCase: true })
      .root.lookupType("org.eclipse.tahu.protobuf.Payload");
  }
  return payloadType;
}

/** Decodes a payload; throws (protobufjs' error) when the bytes are not a Sparkplug payload. */
export function decodePayload(bytes: Uint8Array): SparkplugPayload {
  const m = Payload().decode(bytes) as unknown as Decoded;
  return {
    timestamp: has(m, "timestamp") ? toNumber(m.timestamp) : null,
    seq: has(m, "seq") ? toNumber(m.seq) : null,
    uuid: has(m, "uuid") ? String(m.uuid) : null,
    metrics: ((m.metrics as Decoded[] | undefined) ?? []).map(decodeMetric),
  };
}

function decodeMetric(m: Decoded): SparkplugMetric {
  const datatype = has(m, "datatype") ? (DATA_TYPES[m.datatype as number] ?? null) : null;
  const isNull = m.is_null === true;
  const metric: SparkplugMetric = {
    name: has(m, "name") ? String(m.name) : null,
    alias: has(m, "alias") ? toNumber(m.alias) : null,
    timestamp: has(m, "timestamp") ? toNumber(m.timestamp) : null,
    datatype,
    value: isNull ? null : valueOf(m, datatype),
    isHistorical: m.is_historical === true,
    isTransient: m.is_transient === true,
    isNull,
  };
  const props = m.properties as Decoded | undefined;
  if (props) metric.properties = decodePropertySet(props);
  return metric;
}

/** The value of a metric, dataset cell or property by its datatype. */
function valueOf(m: Decoded, datatype: DataTypeName | null): MetricValue {
  const which = (m as { value?: string }).value;
  if (which === undefined) return null;
  const raw = m[which];
  switch (which) {
    case "int_value": {
      const v = raw as number;
      if (datatype === "Int8") return (v << 24) >> 24;
      if (datatype === "Int16") return (v << 16) >> 16;
      if (datatype === "Int32") return v | 0;
      return v >>> 0;
    }
    case "long_value": {
      const n = toBigInt(raw);
      return safe(datatype === "Int64" ? BigInt.asIntN(64, n) : n);
    }
    case "float_value":
    case "double_value":
    case "boolean_value":
    case "string_value":
      return raw as MetricValue;
    case "bytes_value":
      return datatype && datatype.endsWith("Array")
        ? decodeArray(raw as Uint8Array, datatype)
        : Buffer.from(raw as Uint8Array).toString("base64");
    case "dataset_value":
      return decodeDataSet(raw as Decoded);
    case "template_value": {
      const t = raw as Decoded;
      return {
        templateRef: has(t, "template_ref") ? String(t.template_ref) : null,
        isDefinition: t.is_definition === true,
        metrics: ((t.metrics as Decoded[] | undefined) ?? []).map((x) =>
          metricAsValue(decodeMetric(x)),
        ),
      };
    }
    case "propertyset_value":
      return decodePropertySet(raw as Decoded);
    case "propertysets_value":
      return (((raw as Decoded).propertyset as Decoded[] | undefined) ?? []).map(decodePropertySet);
    default:
      return null; // extensions: nothing standard to read
  }
}

function metricAsValue(m: SparkplugMetric): MetricValue {
  return { name: m.name, datatype: m.datatype, value: m.value };
}

function decodeDataSet(d: Decoded): MetricValue {
  const columns = ((d.columns as string[] | undefined) ?? []).map(String);
  const types = ((d.types as number[] | undefined) ?? []).map((t) => DATA_TYPES[t] ?? null);
  const rows = ((d.rows as Decoded[] | undefined) ?? []).map((row) =>
    ((row.elements as Decoded[] | undefined) ?? []).map((cell, i) =>
      valueOf(cell, types[i] ?? null),
    ),
  );
  return { columns, types, rows };
}

function decodePropertySet(p: Decoded): Record<string, MetricValue> {
  const keys = (p.keys as string[] | undefined) ?? [];
  const values = (p.values as Decoded[] | undefined) ?? [];
  const out: Record<string, MetricValue> = {};
  keys.forEach((k, i) => {
    const v = values[i];
    // Keys are device data: never let one name a prototype.
    if (!v || k === "__proto__" || k === "constructor" || k === "prototype") return;
    const type = has(v, "type") ? (DATA_TYPES[v.type as number] ?? null) : null;
    out[k] = v.is_null === true ? null : valueOf(v, type);
  });
  return out;
}

/** Sparkplug 3.0 arrays: little-endian packed values in bytes_value. */
function decodeArray(bytes: Uint8Array, datatype: DataTypeName): MetricValue[] {
  const b = Buffer.from(bytes);
  const each = <T extends MetricValue>(size: number, read: (offset: number) => T): T[] =>
    Array.from({ length: Math.floor(b.length / size) }, (_, i) => read(i * size));
  switch (datatype) {
    case "Int8Array":
      return each(1, (o) => b.readInt8(o));
    case "Int16Array":
      return each(2, (o) => b.readInt16LE(o));
    case "Int32Array":
      return each(4, (o) => b.readInt32LE(o));
    case "Int64Array":
      return each(8, (o) => safe(b.readBigInt64LE(o)));
    case "UInt8Array":
      return each(1, (o) => b.readUInt8(o));
    case "UInt16Array":
      return each(2, (o) => b.readUInt16LE(o));
    case "UInt32Array":
      return each(4, (o) => b.readUInt32LE(o));
    case "UInt64Array":
    case "DateTimeArray":
      return each(8, (o) => safe(b.readBigUInt64LE(o)));
    case "FloatArray":
      return each(4, (o) => b.readFloatLE(o));
    case "DoubleArray":
      return each(8, (o) => b.readDoubleLE(o));
    case "BooleanArray": {
      // A 4-byte count, then the values packed into bits, most significant bit first.
      if (b.length < 4) return [];
      const count = Math.min(b.readUInt32LE(0), (b.length - 4) * 8);
      return Array.from(
        { length: count },
        (_, i) => ((b[4 + (i >> 3)]! >> (7 - (i & 7))) & 1) === 1,
      );
    }
    case "StringArray":
      return b.toString("utf8").split("\0").slice(0, -1);
    default:
      return [];
  }
}

/** Encodes a payload (the NCMD the host sends; edge nodes in tests and benchmarks). */
export function encodePayload(payload: {
  timestamp?: number;
  seq?: number;
  metrics: MetricInput[];
}): Uint8Array {
  const type = Payload();
  const message = type.fromObject({
    ...(payload.timestamp !== undefined && { timestamp: payload.timestamp }),
    ...(payload.seq !== undefined && { seq: payload.seq }),
    metrics: payload.metrics.map((m) => {
      const datatype = DATA_TYPES.indexOf(m.datatype);
      const out: Decoded = { datatype };
      if (m.name !== undefined) out.name = m.name;
      if (m.alias !== undefined) out.alias = m.alias;
      if (m.timestamp !== undefined) out.timestamp = m.timestamp;
      if (m.isHistorical) out.is_historical = true;
      if (m.value === null || m.value === undefined) out.is_null = true;
      else Object.assign(out, encodeValue(m.datatype, m.value));
      return out;
    }),
  });
  return type.encode(message).finish();
}

function encodeValue(datatype: DataTypeName, value: number | bigint | string | boolean): Decoded {
  switch (datatype) {
    case "Int8":
    case "Int16":
    case "Int32":
    case "UInt8":
    case "UInt16":
    case "UInt32":
      return { int_value: Number(value) >>> 0 };
    case "Int64":
    case "UInt64":
    case "DateTime":
      // Two's complement for negative Int64 values: the wire type is uint64.
      return { long_value: BigInt.asUintN(64, BigInt(value)).toString() };
    case "Float":
      return { float_value: Number(value) };
    case "Double":
      return { double_value: Number(value) };
    case "Boolean":
      return { boolean_value: Boolean(value) };
    default:
      return { string_value: String(value) };
  }
}

function has(o: Decoded, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** A uint64 field as protobufjs gives it: a Long-like `{low, high}` (or a number). */
function toBigInt(v: unknown): bigint {
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (typeof v === "string") return BigInt(v);
  const { low, high } = v as { low: number; high: number };
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

function toNumber(v: unknown): number {
  return Number(toBigInt(v));
}

/** A 64-bit integer as a number when exact, else as its decimal string. */
function safe(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n.toString();
}
