/**
 * The schema as a contract (issue 7): every type, field, argument, input field and enum value
 * is described, renamed fields are deprecated rather than removed, and introspection is served
 * only when switched on (`PLANT_BRIDGE_GRAPHIQL`).
 */
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from "graphql";
import { loadSchema } from "../../sidecar/src/api/schema.js";
import { createApiHarness, type ApiHarness } from "../helpers/api-harness.js";

/** Every schema element without a description, as `Type`, `Type.field`, `Type.field(arg)`. */
function undescribed(): string[] {
  const missing: string[] = [];
  const blank = (d: string | null | undefined) => !d || !d.trim();
  for (const type of Object.values(loadSchema().getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (blank(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of "args" in field ? field.args : [])
          if (blank(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
    }
    if (isEnumType(type))
      for (const value of type.getValues())
        if (blank(value.description)) missing.push(`${type.name}.${value.name}`);
  }
  return missing;
}

describe("the schema", () => {
  it("describes every type, field, argument, input field and enum value", () => {
    expect(undescribed()).toEqual([]);
  });

  it("gives every deprecated field a reason and a replacement that is not deprecated", () => {
    const schema = loadSchema();
    const deprecated: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || !isObjectType(type)) continue;
      const fields = type.getFields();
      for (const field of Object.values(fields)) {
        if (!field.deprecationReason) continue;
        deprecated.push(`${type.name}.${field.name}`);
        const replacement = fields[/^Use (\w+)/.exec(field.deprecationReason)?.[1] ?? ""];
        expect(replacement).toBeDefined();
        expect(replacement!.deprecationReason).toBeUndefined();
      }
    }
    expect(deprecated).toEqual(["ProcessedEvent.type", "MachineStatus.workcenter"]);
  });
});

describe("introspection", () => {
  let h: ApiHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const SCHEMA = `{ __schema { queryType { name } } }`;
  const TYPE = `{ __type(name: "MachineStatus") {
    description
    fields(includeDeprecated: true) { name description isDeprecated deprecationReason }
  } }`;

  it("is refused when switched off (the default), and suggests no field names", async () => {
    h = await createApiHarness({ graphiql: false });
    for (const query of [SCHEMA, TYPE]) {
      const r = await h.gql(query);
      expect(r.status).toBe(400);
      expect(r.data ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    const typo = await h.gql(`{ sidecr { name } }`);
    expect(typo.status).toBe(400);
    expect(typo.errors?.[0]?.message).not.toContain("Did you mean");
  });

  it("answers the described schema when switched on", async () => {
    h = await createApiHarness({ graphiql: true });
    const schema = await h.gql(SCHEMA);
    expect(schema).toMatchObject({
      status: 200,
      data: { __schema: { queryType: { name: "Query" } } },
    });
    const r = await h.gql(TYPE);
    expect(r.errors).toBeUndefined();
    const fields = r.data.__type.fields as Array<{
      name: string;
      description: string | null;
      isDeprecated: boolean;
      deprecationReason: string | null;
    }>;
    expect(r.data.__type.description).toBeTruthy();
    expect(fields.every((f) => f.description)).toBe(true);
    expect(fields.find((f) => f.name === "workCenter")).toMatchObject({
      isDeprecated: false,
      deprecationReason: null,
    });
    expect(fields.find((f) => f.name === "workcenter")).toMatchObject({
      isDeprecated: true,
      deprecationReason: expect.stringContaining("workCenter"),
    });
    const typo = await h.gql(`{ sidecr { name } }`);
    expect(typo.errors?.[0]?.message).toContain("Did you mean");
  });
});
