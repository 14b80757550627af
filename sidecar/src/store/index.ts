import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createPostgresStore } from "./postgres/postgres-store.js";
import { createSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./types.js";

export type * from "./types.js";
export { createPostgresStore, type PostgresStoreOptions } from "./postgres/postgres-store.js";
export { createSqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.js";

/**
 * Opens the store named by `PLANT_BRIDGE_STORE`: a `postgres://` / `postgresql://` URL selects
 * PostgreSQL, anything else is a SQLite file (its directory is created) or `:memory:`.
 */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    return createPostgresStore({ connectionString: location });
  }
  if (location !== ":memory:") mkdirSync(dirname(location), { recursive: true });
  return createSqliteStore({ path: location });
}
