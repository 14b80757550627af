/**
 * One definition of the canonical event types (issue 20, item 5): `EVENT_TYPES` in
 * sidecar/src/canonical/schema.ts. Every other place that lists them is generated from it or
 * checked against it here, so a type added in one place and forgotten in another fails:
 * the Odoo addon's data file and handler registry, the GraphQL enum and typed mutations, the
 * README's event table. (The Mapping Studio reads the types from Odoo's selection,
 * test/owl/mapping-studio.test.ts; types.ts and the Order Trace are checked by the compiler.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isEnumType, isInputObjectType } from "graphql";
import { loadSchema } from "../../sidecar/src/api/schema.js";
import { TYPED_MUTATIONS } from "../../sidecar/src/api/resolvers/events.js";
import { eventTypeCatalog, EVENT_TYPE_LABELS } from "../../sidecar/src/canonical/event-types.js";
import { EVENT_TYPES } from "../../sidecar/src/canonical/schema.js";
import { projectPath } from "../../sidecar/src/paths.js";
import { GRAPHQL_FILE, graphqlText, ODOO_FILE, odooText } from "../../scripts/event-types.js";

const sorted = (values: Iterable<string>) => [...values].sort();
const read = (path: string) => readFileSync(projectPath(path), "utf8");

describe("the event types' one definition", () => {
  it("labels every type, in the contract's order", () => {
    expect(eventTypeCatalog().map((t) => t.type)).toEqual([...EVENT_TYPES]);
    expect(sorted(Object.keys(EVENT_TYPE_LABELS))).toEqual(sorted(EVENT_TYPES));
  });

  it("the Odoo addon's event_types.json and the GraphQL enum file are the generated ones", async () => {
    expect(read(ODOO_FILE)).toBe(odooText());
    expect(read(GRAPHQL_FILE)).toBe(await graphqlText());
    const json = JSON.parse(read(ODOO_FILE)) as { eventTypes: { type: string }[] };
    expect(json.eventTypes.map((t) => t.type)).toEqual([...EVENT_TYPES]);
  });

  it("the GraphQL EventType enum has exactly the types, and no other file declares it", () => {
    const type = loadSchema().getType("EventType");
    expect(isEnumType(type) && type.getValues().map((v) => v.name)).toEqual([...EVENT_TYPES]);
    const declaring = readdirSync(projectPath("graphql/schema")).filter((f) =>
      /\benum EventType\b/.test(read(`graphql/schema/${f}`)),
    );
    expect(declaring).toEqual(["event-types.graphql"]);
  });

  it("every type has its typed GraphQL mutation, whose input is described as that type", () => {
    const schema = loadSchema();
    const mutations = schema.getMutationType()!.getFields();
    for (const type of EVENT_TYPES) {
      const mutation = mutations[TYPED_MUTATIONS[type]];
      expect(mutation?.description).toContain(`(\`${type}\`)`);
      const input = mutation!.args.find((a) => a.name === "input")!.type;
      const named = "ofType" in input ? input.ofType : input;
      expect(isInputObjectType(named) && named.description).toContain(`\`${type}\``);
    }
  });

  it("Odoo has one handler per type, each registered", () => {
    const dir = projectPath("odoo_addon/plant_bridge/handlers");
    const init = read("odoo_addon/plant_bridge/handlers/__init__.py");
    const handled: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".py"))) {
      const text = readFileSync(join(dir, file), "utf8");
      const module = file.replace(/\.py$/, "");
      for (const m of text.matchAll(/^class (\w+)\([^)]*\):[\s\S]*?^ {4}event_type = '(\w+)'/gm)) {
        handled.push(m[2]!);
        expect(init).toMatch(new RegExp(`^from \\. import ${module}$`, "m"));
        expect(init).toContain(`${module}.${m[1]},`);
      }
    }
    expect(sorted(handled)).toEqual(sorted(EVENT_TYPES));
  });

  it("Odoo's mapping target types come from the generated file, not a list of their own", () => {
    const mapping = read("odoo_addon/plant_bridge/models/plant_bridge_mapping.py");
    expect(EVENT_TYPES.filter((type) => mapping.includes(`'${type}'`))).toEqual([]);
  });

  it("the README's event table has one row per type", () => {
    const readme = read("README.md");
    const section = readme.slice(readme.indexOf("\n## What Odoo does with each event"));
    const start = section.indexOf("\n| event | Odoo records written");
    const table = section.slice(start, section.indexOf("\n\n", start));
    const rows = [...table.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!);
    expect(sorted(rows)).toEqual(sorted(EVENT_TYPES));
    const unlisted = EVENT_TYPES.map((type) => TYPED_MUTATIONS[type]).filter(
      (name) => !readme.includes(`\`${name}\``),
    );
    expect(unlisted).toEqual([]);
  });
});
