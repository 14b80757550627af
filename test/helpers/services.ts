/**
 * Real services for integration suites. Under CI (`PLANT_BRIDGE_REQUIRE_SERVICES=1`, set by
 * `.ci/run`) a missing service fails the suite; on a developer machine it is skipped with a loud
 * line, never silently.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import pg from "pg";

export const REQUIRE_SERVICES = process.env.PLANT_BRIDGE_REQUIRE_SERVICES === "1";

export const POSTGRES_ADMIN_URL =
  process.env.PLANT_BRIDGE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const MQTT_TEST_URL = process.env.PLANT_BRIDGE_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
export const MARIADB_TEST_URL =
  process.env.PLANT_BRIDGE_TEST_MARIADB_URL ?? "mysql://root@127.0.0.1:3306/test";

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Resolves whether something accepts TCP connections on host:port. */
export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Returns whether the suite may run. Use it at the top of a suite:
 * `const up = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432)` then
 * `(up ? describe : describe.skip)(...)`.
 */
export async function serviceAvailable(name: string, host: string, port: number): Promise<boolean> {
  if (await tcpReachable(host, port)) return true;
  const line = `${name} is not reachable at ${host}:${port}`;
  if (REQUIRE_SERVICES) throw new Error(`${line} and PLANT_BRIDGE_REQUIRE_SERVICES=1: failing`);
  console.warn(`SKIPPED: ${line} (set PLANT_BRIDGE_REQUIRE_SERVICES=1 to fail instead)`);
  return false;
}

/** Creates an empty PostgreSQL database for one suite; returns its URL and a drop function. */
export async function createTestDatabase(
  prefix = "pb_test",
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = randomName(prefix);
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
