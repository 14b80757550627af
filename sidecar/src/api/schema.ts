import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSchema, type GraphQLSchema } from "graphql";
import { projectPath } from "../paths.js";

const SCHEMA_DIR = projectPath("graphql/schema");
const OPERATIONS_DIR = projectPath("graphql/operations");

/** The API contract: every `graphql/schema/*.graphql` file, in name order, as one SDL text. */
export function loadSchemaSdl(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => readFileSync(join(SCHEMA_DIR, f), "utf8"))
    .join("\n");
}

/** The schema without resolvers (for validation and code generation). */
export function loadSchema(): GraphQLSchema {
  return buildSchema(loadSchemaSdl());
}

/** The example operations in `graphql/operations/`. */
export function operationFiles(): string[] {
  return readdirSync(OPERATIONS_DIR)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => join(OPERATIONS_DIR, f));
}
