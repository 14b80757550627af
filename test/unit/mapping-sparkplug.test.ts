/**
 * Sparkplug B decoding with the specification's schema (built here with protobufjs directly,
 * as another implementation would encode it), and the host's session tracking.
 */
import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { decodePayload, encodePayload } from "../../sidecar/src/ingress/sparkplug/codec.js";
import {
  createSparkplugHost,
  parseSparkplugTopic,
} from "../../sidecar/src/ingress/sparkplug/host.js";
import { projectPath } from "../../sidecar/src/paths.js";

const Payload = protobuf
  .parse(readFileSync(projectPath("sidecar/src/ingress/sparkplug/sparkplug_b.proto"), "utf8"), {
    keepCase: true,
  })
  .root.lookupType("org.eclipse.tahu.protobuf.Payload");
const encode = (o: object) => Payload.encode(Payload.fromObject(o)).finish();

describe("Sparkplug B payloads", () => {
  it("decodes each scalar type by its datatype, 64-bit values exactly", () => {
    const p = decodePayload(
      encode({
        timestamp: 1764144000000,
        seq: 7,
        metrics: [
          { name: "i8", datatype: 1, int_value: 0xff }, // -1
          { name: "i16", datatype: 2, int_value: 0x8000 }, // -32768
          { name: "i32", datatype: 3, int_value: 0xfffffffe }, // -2
          { name: "i64", datatype: 4, long_value: "18446744073709551615" }, // -1
          { name: "u32", datatype: 7, int_value: 0xffffffff },
          { name: "u64", datatype: 8, long_value: "18446744073709551615" },
          { name: "f", datatype: 9, float_value: 1.5 },
          { name: "b", datatype: 11, boolean_value: true },
          { name: "s", datatype: 12, string_value: "RUN" },
          { name: "t", datatype: 13, long_value: 1764144000123 },
          { name: "bytes", datatype: 17, bytes_value: Buffer.from([1, 2, 3]) },
          { name: "null", datatype: 3, is_null: true },
        ],
      }),
    );
    expect([p.timestamp, p.seq]).toEqual([1764144000000, 7]);
    expect(Object.fromEntries(p.metrics.map((m) => [m.name, m.value]))).toEqual({
      i8: -1,
      i16: -32768,
      i32: -2,
      i64: -1,
      u32: 4294967295,
      u64: "18446744073709551615",
      f: 1.5,
      b: true,
      s: "RUN",
      t: 1764144000123,
      bytes: "AQID",
      null: null,
    });
  });

  it("decodes arrays, data sets, templates and properties", () => {
    const i16 = Buffer.alloc(4);
    i16.writeInt16LE(-2, 0);
    i16.writeInt16LE(300, 2);
    const bools = Buffer.from([3, 0, 0, 0, 0b10100000]);
    const p = decodePayload(
      encode({
        metrics: [
          { name: "a16", datatype: 23, bytes_value: i16 },
          { name: "bools", datatype: 32, bytes_value: bools },
          { name: "strings", datatype: 33, bytes_value: Buffer.from("a\0bc\0") },
          {
            name: "ds",
            datatype: 16,
            dataset_value: {
              num_of_columns: 2,
              columns: ["shift", "good"],
              types: [12, 3],
              rows: [{ elements: [{ string_value: "A" }, { int_value: 0xffffffff }] }],
            },
          },
          {
            name: "tpl",
            datatype: 19,
            template_value: {
              template_ref: "Motor",
              metrics: [{ name: "rpm", datatype: 10, double_value: 1480.5 }],
            },
          },
          {
            name: "withProps",
            datatype: 3,
            int_value: 1,
            properties: {
              keys: ["engUnit", "__proto__"],
              values: [
                { type: 12, string_value: "rpm" },
                { type: 12, string_value: "x" },
              ],
            },
          },
        ],
      }),
    );
    const byName = Object.fromEntries(p.metrics.map((m) => [m.name, m]));
    expect(byName.a16!.value).toEqual([-2, 300]);
    expect(byName.bools!.value).toEqual([true, false, true]);
    expect(byName.strings!.value).toEqual(["a", "bc"]);
    expect(byName.ds!.value).toEqual({
      columns: ["shift", "good"],
      types: ["String", "Int32"],
      rows: [["A", -1]],
    });
    expect(byName.tpl!.value).toEqual({
      templateRef: "Motor",
      isDefinition: false,
      metrics: [{ name: "rpm", datatype: "Double", value: 1480.5 }],
    });
    expect(byName.withProps!.properties).toEqual({ engUnit: "rpm" });
    expect(Object.getPrototypeOf(byName.withProps!.properties)).toBe(Object.prototype);
  });

  it("round-trips what the host encodes (the Rebirth command)", () => {
    const bytes = encodePayload({
      timestamp: 5,
      metrics: [
        { name: "Node Control/Rebirth", datatype: "Boolean", value: true },
        { name: "big", datatype: "Int64", value: -9007199254740993n },
      ],
    });
    expect(decodePayload(bytes).metrics.map((m) => [m.name, m.datatype, m.value])).toEqual([
      ["Node Control/Rebirth", "Boolean", true],
      ["big", "Int64", "-9007199254740993"],
    ]);
  });

  it("refuses bytes that are not a payload", () => {
    expect(() => decodePayload(Buffer.from("definitely not protobuf"))).toThrow();
  });
});

describe("Sparkplug B host", () => {
  const g = "g";
  const birth = (seq = 0, bdSeq = 1) =>
    encodePayload({
      seq,
      metrics: [
        { name: "bdSeq", datatype: "UInt64", value: bdSeq },
        { name: "Line/Speed", alias: 10, datatype: "Float", value: 1 },
      ],
    });
  const data = (seq: number) =>
    encodePayload({ seq, metrics: [{ alias: 10, datatype: "Float", value: 2.5 }] });

  it("parses topics", () => {
    expect(parseSparkplugTopic("spBv1.0/g/DDATA/e/d")).toEqual({
      group: "g",
      type: "DDATA",
      edge: "e",
      device: "d",
    });
    expect(parseSparkplugTopic("spBv1.0/g/NDATA/e")).toEqual({
      group: "g",
      type: "NDATA",
      edge: "e",
      device: null,
    });
    for (const t of [
      "spBv1.0/STATE/host",
      "spBv1.0/g/DDATA/e",
      "spBv1.0/g/NDATA/e/d",
      "spAv1.0/g/NDATA/e",
    ])
      expect(parseSparkplugTopic(t)).toBeUndefined();
  });

  it("names alias-only metrics from the birth, asks for a rebirth on a gap (once per interval)", () => {
    const host = createSparkplugHost({ rebirthIntervalMs: 1000 });
    const b = host.process(`spBv1.0/${g}/NBIRTH/e`, birth(), 0);
    expect(b).toMatchObject({ kind: "message", birth: { device: null } });
    const d = host.process(`spBv1.0/${g}/NDATA/e`, data(1), 1);
    expect(d).toMatchObject({
      kind: "message",
      input: { values: { "Line/Speed": 2.5 }, bdSeq: 1 },
    });
    expect(d).not.toHaveProperty("rebirth");
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(5), 2)).toMatchObject({
      rebirth: "sequence gap: 5 after 1",
    });
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(9), 3)).not.toHaveProperty("rebirth"); // throttled
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(255), 2000)).toMatchObject({
      rebirth: expect.any(String),
    });
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(0), 2001)).not.toHaveProperty("rebirth"); // 255 → 0 wraps
  });

  it("takes a node offline only with its own session's death certificate", () => {
    const host = createSparkplugHost({ rebirthIntervalMs: 0 });
    host.process(`spBv1.0/${g}/NBIRTH/e`, birth(0, 7), 0);
    const stale = encodePayload({ metrics: [{ name: "bdSeq", datatype: "UInt64", value: 6 }] });
    expect(host.process(`spBv1.0/${g}/NDEATH/e`, stale, 1)).toMatchObject({ kind: "ignored" });
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(1), 2)).not.toHaveProperty("rebirth");
    const own = encodePayload({ metrics: [{ name: "bdSeq", datatype: "UInt64", value: 7 }] });
    expect(host.process(`spBv1.0/${g}/NDEATH/e`, own, 3)).toMatchObject({ kind: "message" });
    expect(host.process(`spBv1.0/${g}/NDATA/e`, data(2), 4)).toMatchObject({
      rebirth: "data after the node's death",
    });
    expect(host.nodes()).toEqual([
      expect.objectContaining({ edge: "e", online: false, bdSeq: 7, rebirthRequests: 1 }),
    ]);
  });
});
