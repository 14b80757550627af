/**
 * One runner per schedule across sidecars (ARCHITECTURE.md "Scale-out": "Scheduled pulls elect
 * one runner per schedule the same way" as ingest partitions). With a PostgreSQL store, the
 * runner of a schedule is the sidecar holding a session-level advisory lock named after it, on a
 * connection of its own: it keeps the lock from run to run; when it dies its connection closes,
 * the lock is free, and the next tick of a standby takes it. Should two runs ever overlap anyway
 * (a lock lost with its connection while a run goes on), the compare-and-set on the source's
 * state lets only one of them commit.
 *
 * A SQLite store belongs to one process: every schedule is its own.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "../logger.js";

export interface RunnerLocks {
  readonly kind: "local" | "postgres";
  /** Becomes, or stays, the runner of `name`; false when another sidecar is. */
  acquire(name: string): Promise<boolean>;
  /** Gives up being the runner of `name` (the schedule was removed). */
  release(name: string): Promise<void>;
  /** Names this sidecar is the runner of. */
  held(): string[];
  close(): Promise<void>;
}

export function createLocalLocks(): RunnerLocks {
  const held = new Set<string>();
  return {
    kind: "local",
    async acquire(name) {
      held.add(name);
      return true;
    },
    async release(name) {
      held.delete(name);
    },
    held: () => [...held],
    async close() {
      held.clear();
    },
  };
}

export interface PgLocksOptions {
  connectionString: string;
  logger: Logger;
}

/** The advisory lock key of a name: 64 bits of its SHA-256, namespaced. */
export function lockKey(name: string): string {
  const digest = createHash("sha256").update(`plant_bridge.schedule\0${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export function createPgAdvisoryLocks(options: PgLocksOptions): RunnerLocks {
  const { logger } = options;
  const held = new Set<string>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;

  function lost(err: unknown) {
    if (held.size)
      logger.warn(
        { err: { message: (err as Error).message }, schedules: [...held] },
        "schedule locks lost with their connection; another sidecar may take over",
      );
    held.clear();
    client = undefined;
  }

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({
        connectionString: options.connectionString,
        application_name: "plant-bridge-schedule-locks",
        keepAlive: true,
      });
      c.on("error", lost);
      c.on("end", () => client === c && lost(new Error("connection ended")));
      await c.connect();
      client = c;
      return c;
    })().finally(() => (connecting = undefined));
    return connecting;
  }

  return {
    kind: "postgres",
    async acquire(name) {
      if (closed) return false;
      if (held.has(name) && client) return true;
      const c = await connection();
      const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
        lockKey(name),
      ]);
      if (r.rows[0]?.ok) held.add(name);
      return held.has(name);
    },
    async release(name) {
      if (!held.delete(name) || !client) return;
      await client
        .query("SELECT pg_advisory_unlock($1::bigint)", [lockKey(name)])
        .catch((err: unknown) => lost(err));
    },
    held: () => [...held],
    async close() {
      closed = true;
      held.clear();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
