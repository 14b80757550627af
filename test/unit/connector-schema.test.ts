import { readFileSync } from "node:fs";
import { projectPath } from "../../sidecar/src/paths.js";
import { connectorSchemaText, SCHEMA_FILE } from "../../scripts/connector-schema.js";
import { MQTT_CONNECTOR_PARAMS } from "../../sidecar/src/connectors/mqtt-params.js";
import { CONNECTOR_PARAMS, CONNECTOR_SECRETS } from "../../sidecar/src/connectors/params.js";
import { SINK_PARAMS } from "../../sidecar/src/egress/legacy-sinks.js";

/** Odoo's typed connector forms validate with the sidecar's rules: the file must be current. */
describe("connector parameter schema for Odoo", () => {
  it("is the one generated from the sidecar's checks (npm run schema:connectors)", () => {
    expect(readFileSync(projectPath(SCHEMA_FILE), "utf8")).toBe(connectorSchemaText());
  });

  it("names the parameters as the sidecar reads them, with their defaults", () => {
    const doc = JSON.parse(connectorSchemaText()) as {
      params: Record<string, { properties: Record<string, { default?: unknown }> }>;
    };
    expect(Object.keys(doc.params)).toEqual([
      "file_drop",
      "sql_source",
      "http_source",
      "sink_file",
      "sink_sql",
      "sink_http",
      "mqtt",
      "sink_mqtt",
    ]);
    expect(doc.params.file_drop!.properties.path).toBeDefined();
    expect(doc.params.file_drop!.properties.stableSeconds!.default).toBe(2);
    expect(doc.params.sql_source!.properties.batchSize!.default).toBe(1000);
    expect(doc.params.http_source!.properties.itemsPath!.default).toBe("items");
    expect(doc.params.sink_file!.properties.delimiter!.default).toBe(";");
    expect(doc.params.sink_sql!.properties.mode!.default).toBe("upsert");
    expect(doc.params.sink_http!.properties.attempts!.default).toBe(3);
    expect(doc.params.sink_mqtt!.properties).toEqual({});
  });

  it("takes MQTT topic filters as MQTT does (+ a whole level, # only last)", () => {
    const topics = MQTT_CONNECTOR_PARAMS.mqtt.shape.topics;
    for (const ok of [["#"], ["plant/+/+/status"], ["plant/line1/#"], ["+"], ["a//b"]])
      expect(topics.safeParse(ok).success).toBe(true);
    for (const bad of [["plant/#/status"], ["plant/li+ne"], ["plant#"], [""]])
      expect(topics.safeParse(bad).success).toBe(false);
  });

  it("takes HTTP header names as HTTP does (a token), values on one line", () => {
    const schemas = [
      CONNECTOR_PARAMS.http_source.shape.headers,
      SINK_PARAMS.sink_http.shape.headers,
      CONNECTOR_SECRETS.shape.headers,
    ];
    for (const headers of schemas) {
      expect(headers.safeParse({ Accept: "application/json", "X-Api-Version": "2" }).success).toBe(
        true,
      );
      for (const bad of [{ "Bad Name": "x" }, { "": "x" }, { "X-Evil": "a\r\nSet-Cookie: b" }])
        expect(headers.safeParse(bad).success).toBe(false);
    }
    const doc = JSON.parse(connectorSchemaText()) as {
      params: Record<string, { properties: Record<string, { propertyNames?: unknown }> }>;
    };
    expect(doc.params.http_source!.properties.headers!.propertyNames).toMatchObject({
      pattern: expect.any(String),
    });
  });
});
