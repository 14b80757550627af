import { readFileSync } from "node:fs";
import { projectPath } from "../../sidecar/src/paths.js";
import { connectorSchemaText, SCHEMA_FILE } from "../../scripts/connector-schema.js";

/** Odoo's typed connector forms validate with the sidecar's rules: the file must be current. */
describe("connector parameter schema for Odoo", () => {
  it("is the one generated from the sidecar's checks (npm run schema:connectors)", () => {
    expect(readFileSync(projectPath(SCHEMA_FILE), "utf8")).toBe(connectorSchemaText());
  });

  it("names the parameters as the sidecar reads them, with their defaults", () => {
    const doc = JSON.parse(connectorSchemaText()) as {
      params: Record<string, { properties: Record<string, { default?: unknown }> }>;
    };
    expect(Object.keys(doc.params)).toEqual(["file_drop", "sql_source", "http_source"]);
    expect(doc.params.file_drop!.properties.path).toBeDefined();
    expect(doc.params.file_drop!.properties.stableSeconds!.default).toBe(2);
    expect(doc.params.sql_source!.properties.batchSize!.default).toBe(1000);
    expect(doc.params.http_source!.properties.itemsPath!.default).toBe("items");
  });
});
