/**
 * Who ingests, and who is alive, across sidecars on one PostgreSQL store (README "Scale out",
 * docs/SCALE.md "Ingest ownership").
 *
 * One connection of its own per sidecar (the *presence* session) holds session-level advisory
 * locks:
 * - the **ingest lock** of a group (`PLANT_BRIDGE_INGEST_GROUP`): its holder is the group's
 *   ingest owner, the only one connected to the broker on the group's persistent MQTT session;
 *   the others are standbys that try to take the lock every `pollMs`;
 * - a **liveness lock** per name held (the posting worker's lease owner): a lease whose owner's
 *   liveness lock nobody holds belongs to a dead sidecar and is taken over at once
 *   (`deadHolders`), not when the lease runs out.
 *
 * A lock lives exactly as long as its session. The session is made short-lived on purpose:
 * `idle_session_timeout` ends it on the server when the sidecar stops talking (SIGKILL closes it
 * at once; a network cut or a frozen process: after `idleSessionTimeoutMs`), and TCP keepalives
 * and `tcp_user_timeout` cover a cut during a query. The owner asks the session every
 * `heartbeatMs`; no answer within `heartbeatTimeoutMs` (shorter than the server's timeout) and it
 * steps down by itself, before the server frees the lock for a standby: that is the fence. The
 * intake also checks `owned()` before each commit.
 *
 * A SQLite store belongs to one process: `createLocalOwnership` always owns.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "../logger.js";

export type IngestRole = "owner" | "standby";

export interface IngestOwnership {
  readonly kind: "local" | "postgres";
  /** The group elected on; undefined without one (every sidecar owns its own intake). */
  readonly group: string | undefined;
  role(): IngestRole;
  /** The fence: true only while this sidecar holds the ingest lock on a live session. */
  owned(): boolean;
  /** Called on every change of role (not for the initial standby). */
  onChange(listener: (role: IngestRole) => void): void;
  /** Resolves once the first election round is over (owner or standby known). */
  settled(): Promise<void>;
  /** Holds a liveness lock named `name` as long as this sidecar lives (re-held after a reconnect). */
  holdLiveness(name: string): Promise<void>;
  /** Of `names`, those whose liveness lock nobody holds. */
  deadHolders(names: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Single process (SQLite store, or no group): always the owner, every holder alive. */
export function createLocalOwnership(group?: string): IngestOwnership {
  return {
    kind: "local",
    group,
    role: () => "owner",
    owned: () => true,
    onChange: () => undefined,
    settled: async () => undefined,
    holdLiveness: async () => undefined,
    deadHolders: async () => [],
    close: async () => undefined,
  };
}

export interface PgOwnershipOptions {
  connectionString: string;
  /** Ingest group; undefined: only liveness (every sidecar owns its own intake). */
  group?: string;
  /** This sidecar's name, for the logs and `application_name`. */
  name: string;
  logger: Logger;
  /** How often a standby tries the lock, and the owner asks its session. @default 1000 */
  pollMs?: number;
  /** An owner whose session has not answered for this long steps down. @default 2500 */
  heartbeatTimeoutMs?: number;
  /** The server ends a session silent for this long (frees its locks). @default 5000 */
  idleSessionTimeoutMs?: number;
  onRoleChange?: (role: IngestRole) => void;
}

/** A bigint advisory lock key, namespaced, from 64 bits of SHA-256. */
export function ownershipKey(kind: "ingest" | "liveness", name: string): bigint {
  const digest = createHash("sha256").update(`plant_bridge.${kind}\0${name}`).digest();
  return digest.readBigInt64BE(0);
}

export function createPgOwnership(options: PgOwnershipOptions): IngestOwnership {
  const { logger, group } = options;
  const pollMs = options.pollMs ?? 1000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 2500;
  const idleMs = options.idleSessionTimeoutMs ?? 5000;
  if (heartbeatTimeoutMs + pollMs >= idleMs)
    throw new Error("the heartbeat must notice a lost session before the server frees its locks");
  const ingestKey = group === undefined ? undefined : ownershipKey("ingest", group);
  const liveness = new Set<string>();
  const listeners: Array<(role: IngestRole) => void> = [];
  if (options.onRoleChange) listeners.push(options.onRoleChange);
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let role: IngestRole = "standby";
  let lastAnswerAt = 0;
  let yieldUntil = 0;
  let inFlightSince: number | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let settledResolve!: () => void;
  const settledPromise = new Promise<void>((r) => (settledResolve = r));
  let heldLiveness = new Set<string>();

  function setRole(next: IngestRole, why: string): void {
    if (role === next) return;
    role = next;
    const log = next === "owner" ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ group, role: next, why }, `ingest ${next === "owner" ? "owner" : "standby"} now`);
    for (const l of listeners) l(next);
  }

  function lost(c: pg.Client, err: unknown): void {
    if (client !== c) return;
    client = undefined;
    heldLiveness = new Set();
    // A member whose session failed yields: it does not try the ingest lock again before a
    // silent session of its would have ended on the server, so a standby takes over instead of
    // the flaky member winning its lock back at once.
    if (role === "owner") yieldUntil = Date.now() + idleMs;
    logger.warn(
      { group, err: { message: (err as Error).message } },
      "the ownership session to PostgreSQL is lost: its locks are gone",
    );
    setRole("standby", "session lost");
    // the socket may linger (a cut network): never wait for it
    void c.end().catch(() => undefined);
  }

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({
        connectionString: options.connectionString,
        application_name: `plant-bridge-ownership:${options.name}`.slice(0, 63),
        keepAlive: true,
        keepAliveInitialDelayMillis: 1000,
        query_timeout: heartbeatTimeoutMs,
        connectionTimeoutMillis: heartbeatTimeoutMs * 2,
      });
      c.on("error", (err) => lost(c, err));
      c.on("end", () => lost(c, new Error("connection ended")));
      await c.connect();
      const seconds = Math.max(1, Math.ceil(idleMs / 1000));
      // The server frees the locks of a session that stops talking (cut network, frozen
      // process). PostgreSQL < 14 has no idle_session_timeout: TCP keepalives only.
      await c
        .query(`SET idle_session_timeout = '${idleMs}ms'`)
        .catch((err: unknown) =>
          logger.warn(
            { err: { message: (err as Error).message } },
            "idle_session_timeout not available: a cut network frees the ingest lock after TCP keepalives only",
          ),
        );
      await c.query(
        `SET tcp_keepalives_idle = ${seconds}; SET tcp_keepalives_interval = 1;
         SET tcp_keepalives_count = 3; SET tcp_user_timeout = ${idleMs}`,
      );
      client = c;
      lastAnswerAt = Date.now();
      return c;
    })().finally(() => (connecting = undefined));
    return connecting;
  }

  async function holdAll(c: pg.Client): Promise<void> {
    for (const name of liveness) {
      if (heldLiveness.has(name)) continue;
      const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
        ownershipKey("liveness", name).toString(),
      ]);
      if (r.rows[0]?.ok) heldLiveness.add(name);
    }
  }

  async function tick(): Promise<void> {
    let c: pg.Client | undefined;
    try {
      c = await connection();
      inFlightSince = Date.now();
      await holdAll(c);
      if (ingestKey === undefined) {
        await c.query("SELECT 1");
      } else if (role === "owner") {
        // the heartbeat: the lock is still ours as long as the session answers
        await c.query("SELECT 1");
      } else if (Date.now() < yieldUntil) {
        await c.query("SELECT 1");
      } else {
        const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
          ingestKey.toString(),
        ]);
        if (r.rows[0]?.ok && client === c) setRole("owner", "took the ingest lock");
      }
      if (client === c) lastAnswerAt = Date.now();
    } catch (err) {
      if (c) lost(c, err);
      else
        logger.warn(
          { err: { message: (err as Error).message } },
          "ownership: PostgreSQL unreachable",
        );
    } finally {
      inFlightSince = undefined;
      settledResolve();
    }
  }

  /**
   * The session may be gone: a query has waited for its answer longer than heartbeatTimeoutMs,
   * or nothing was heard for as long as the server waits before ending a silent session (this
   * process stalled). A stall shorter than that (a loaded machine, a long synchronous start)
   * is not a lost session: nothing was asked, nothing went unanswered.
   */
  function stale(now = Date.now()): boolean {
    return (
      (inFlightSince !== undefined && now - inFlightSince > heartbeatTimeoutMs) ||
      now - lastAnswerAt > idleMs
    );
  }

  // The fence's clock: an owner whose session does not answer steps down without waiting for
  // the query to fail (a cut network answers nothing, not an error).
  function watchdog(): void {
    if (role === "owner" && client && stale())
      lost(client, new Error(`no answer from the ownership session`));
  }

  let running: Promise<void> | undefined;
  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      watchdog();
      running ??= tick().finally(() => (running = undefined));
      schedule();
    }, pollMs);
    timer.unref();
  }
  running = tick().finally(() => (running = undefined));
  schedule();
  const watch = setInterval(watchdog, 250);
  watch.unref();

  return {
    kind: "postgres",
    group,
    role: () => (ingestKey === undefined ? "owner" : role),
    owned: () => ingestKey === undefined || (role === "owner" && client !== undefined && !stale()),
    onChange: (l) => void listeners.push(l),
    settled: () => settledPromise,
    async holdLiveness(name) {
      liveness.add(name);
      const c = await connection();
      await holdAll(c);
      if (!heldLiveness.has(name)) throw new Error("liveness lock not taken");
    },
    async deadHolders(names) {
      if (names.length === 0) return [];
      const keys = names.map((n) => ownershipKey("liveness", n));
      const c = await connection();
      // an advisory lock on a bigint key shows as (classid, objid) = (high, low) 32 bits
      const r = await c.query<{ key: string }>(
        `SELECT ((classid::bigint << 32) | objid::bigint)::text AS key FROM pg_locks
         WHERE locktype = 'advisory' AND objsubid = 1 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ((classid::bigint << 32) | objid::bigint) = ANY ($1::bigint[])`,
        [keys.map((k) => k.toString())],
      );
      const alive = new Set(r.rows.map((row) => BigInt.asIntN(64, BigInt(row.key))));
      return names.filter((_, i) => !alive.has(keys[i]!));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(watch);
      await running;
      const c = client;
      client = undefined;
      if (role === "owner") setRole("standby", "closing");
      await c?.end().catch(() => undefined);
    },
  };
}
