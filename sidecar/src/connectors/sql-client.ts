/**
 * One small client over the two legacy databases we meet: PostgreSQL (pg) and MariaDB / MySQL
 * (mysql2). Values keep their exact text where JavaScript would lose it: timestamps and dates
 * come back as the database's text (a watermark re-sent as a parameter then compares exactly,
 * microseconds included), BIGINT and DECIMAL as strings. Identifiers are checked and quoted;
 * values only ever travel as parameters.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import { ConfigError, TransientError } from "../errors.js";

export type SqlDriver = "postgres" | "mysql";

export interface SqlConnection {
  driver: SqlDriver;
  /** `postgres://host/db` or `mysql://host/db`; a password here is taken as a secret. */
  url?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** @default 10000 */
  connectTimeoutMs?: number;
}

export type SqlRow = Record<string, unknown>;

export interface SqlClient {
  readonly driver: SqlDriver;
  /** Runs a statement; parameters are written with `placeholder(n)`. */
  query(sql: string, params?: unknown[]): Promise<SqlRow[]>;
  /** The n-th (1-based) parameter's placeholder: `$n` (PostgreSQL) or `?` (MySQL). */
  placeholder(n: number): string;
  /** Runs `fn` in a read-only transaction (a source's query cannot change the legacy side). */
  readOnly<T>(fn: (query: SqlClient["query"]) => Promise<T>): Promise<T>;
  /** Runs `fn` in a read-write transaction (a sink's header and lines commit together). */
  transaction<T>(fn: (query: SqlClient["query"]) => Promise<T>): Promise<T>;
  /** A checked, quoted identifier (`schema.table` allowed). */
  ident(name: string): string;
  close(): Promise<void>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function checkIdentifier(name: string, what: string): string {
  const parts = typeof name === "string" ? name.split(".") : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw new ConfigError(
      "config",
      `${what} ${JSON.stringify(String(name).slice(0, 80))} is not an identifier (letters, digits, _, optionally schema.name)`,
    );
  return name;
}

// Text for timestamp, timestamptz, date, time, timetz, numeric: exact, and compared exactly
// when sent back as a parameter.
const PG_TEXT_TYPES = [1114, 1184, 1082, 1083, 1266, 1700];

export function openSqlClient(connection: SqlConnection): SqlClient {
  return connection.driver === "postgres" ? postgresClient(connection) : mysqlClient(connection);
}

/**
 * Connection settings for pg. A URL's own (empty) password would win over a separate one, so a
 * password (and user) from the connector's secrets is written into the URL.
 */
export function postgresConnection(c: SqlConnection): pg.PoolConfig {
  if (c.url) {
    const url = new URL(c.url);
    if (c.user) url.username = encodeURIComponent(c.user);
    if (c.password !== undefined) url.password = encodeURIComponent(c.password);
    return {
      connectionString: url.toString(),
      ...(c.host && { host: c.host }),
      ...(c.port && { port: c.port }),
      ...(c.database && { database: c.database }),
    };
  }
  return {
    ...(c.host && { host: c.host }),
    ...(c.port && { port: c.port }),
    ...(c.database && { database: c.database }),
    ...(c.user && { user: c.user }),
    ...(c.password !== undefined && { password: c.password }),
  };
}

/**
 * Always the extended protocol, which takes exactly one statement. Without parameters pg sends a
 * simple query, and that runs `SELECT 1; COMMIT; DELETE ...` whole: out of the read-only
 * transaction of a source. (mysql2 is configured with `multipleStatements: false`.)
 */
function oneStatement(text: string, values: unknown[]): pg.QueryConfig {
  // `queryMode` is pg's (lib/query.js), not yet in its type declarations.
  const config: pg.QueryConfig & { queryMode: "extended" } = {
    text,
    values,
    queryMode: "extended",
  };
  return config;
}

function postgresClient(c: SqlConnection): SqlClient {
  const pool = new pg.Pool({
    ...postgresConnection(c),
    max: 2,
    connectionTimeoutMillis: c.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        PG_TEXT_TYPES.includes(oid)
          ? (v: string) => v
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection dropped by the server must not crash the sidecar.
  pool.on("error", () => undefined);
  async function tx<T>(begin: string, fn: (query: SqlClient["query"]) => Promise<T>): Promise<T> {
    const conn = await pool.connect().catch((err: unknown) => {
      throw classify(err, c);
    });
    try {
      await conn.query(begin);
      const result = await fn(async (sql, params = []) => {
        try {
          return (await conn.query(oneStatement(sql, params))).rows as SqlRow[];
        } catch (err) {
          throw classify(err, c);
        }
      });
      await conn.query("COMMIT");
      return result;
    } catch (err) {
      await conn.query("ROLLBACK").catch(() => undefined);
      throw classify(err, c);
    } finally {
      conn.release();
    }
  }
  const client: SqlClient = {
    driver: "postgres",
    placeholder: (n) => `$${n}`,
    async query(sql, params = []) {
      try {
        return (await pool.query(oneStatement(sql, params))).rows as SqlRow[];
      } catch (err) {
        throw classify(err, c);
      }
    },
    readOnly: (fn) => tx("BEGIN TRANSACTION READ ONLY", fn),
    transaction: (fn) => tx("BEGIN", fn),
    ident: (name) =>
      checkIdentifier(name, "identifier")
        .split(".")
        .map((p) => `"${p}"`)
        .join("."),
    close: () => pool.end(),
  };
  return client;
}

function mysqlClient(c: SqlConnection): SqlClient {
  const url = c.url ? new URL(c.url) : undefined;
  const pool = mysql.createPool({
    host: c.host ?? url?.hostname ?? "127.0.0.1",
    port: c.port ?? (url?.port ? Number(url.port) : 3306),
    user: c.user ?? (url?.username ? decodeURIComponent(url.username) : undefined),
    password: c.password ?? (url?.password ? decodeURIComponent(url.password) : undefined),
    database:
      c.database ?? (url?.pathname.length ? decodeURIComponent(url.pathname.slice(1)) : undefined),
    connectionLimit: 2,
    connectTimeout: c.connectTimeoutMs ?? 10_000,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
    charset: "utf8mb4",
  });
  pool.on("connection", (conn) => conn.on("error", () => undefined));
  const run = async (
    q: (sql: string, params: unknown[]) => Promise<unknown>,
    sql: string,
    params: unknown[],
  ) => {
    try {
      const [rows] = (await q(sql, params)) as [SqlRow[]];
      // A statement without rows (INSERT, UPDATE) answers with its counts.
      if (!Array.isArray(rows))
        return [{ affectedRows: (rows as { affectedRows?: number }).affectedRows ?? 0 }];
      return rows.map((r) => ({ ...r }));
    } catch (err) {
      throw classify(err, c);
    }
  };
  async function tx<T>(begin: string, fn: (query: SqlClient["query"]) => Promise<T>): Promise<T> {
    const conn = await pool.getConnection().catch((err: unknown) => {
      throw classify(err, c);
    });
    try {
      await conn.query(begin);
      const result = await fn((sql, params = []) => run((s, p) => conn.query(s, p), sql, params));
      await conn.query("COMMIT");
      return result;
    } catch (err) {
      await conn.query("ROLLBACK").catch(() => undefined);
      throw classify(err, c);
    } finally {
      conn.release();
    }
  }
  return {
    driver: "mysql",
    placeholder: () => "?",
    query: (sql, params = []) => run((s, p) => pool.query(s, p), sql, params),
    readOnly: (fn) => tx("START TRANSACTION READ ONLY", fn),
    transaction: (fn) => tx("START TRANSACTION", fn),
    ident: (name) =>
      checkIdentifier(name, "identifier")
        .split(".")
        .map((p) => `\`${p}\``)
        .join("."),
    close: () => pool.end(),
  };
}

/**
 * Connection and server trouble is transient (the next run retries); a statement the database
 * refuses (syntax, unknown column, rights) is a configuration error. The message never carries
 * the password, even when a driver put the connection string in it.
 */
function classify(err: unknown, c: SqlConnection): Error {
  if (err instanceof TransientError || err instanceof ConfigError) return err;
  const e = err as { code?: string; message?: string; errno?: number };
  const message = redact(e.message ?? String(err), c);
  const code = String(e.code ?? "");
  const connection =
    /^(ECONN|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|PROTOCOL_|ER_CON_COUNT|57P0|08)/.test(code) ||
    /timeout|terminated|Connection|connect/i.test(message);
  const auth = code === "28P01" || code === "ER_ACCESS_DENIED_ERROR" || code === "28000";
  if (auth)
    return new ConfigError("credentials", `legacy database refused the credentials: ${message}`);
  if (connection)
    return new TransientError("legacy_unavailable", `legacy database unavailable: ${message}`);
  return new ConfigError("legacy_query", `legacy database: ${message}${code ? ` (${code})` : ""}`);
}

export function redact(text: string, c: Pick<SqlConnection, "url" | "password">): string {
  let out = text;
  const secrets = [c.password, c.url ? safeUrlPassword(c.url) : undefined].filter(
    (s): s is string => typeof s === "string" && s.length >= 3,
  );
  for (const s of secrets) out = out.split(s).join("[redacted]");
  return out.replace(/\/\/([^:/@\s]+):[^@\s]*@/g, "//$1:[redacted]@");
}

function safeUrlPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** A connection URL without its password, for logs and run notes. */
export function describeConnection(c: SqlConnection): string {
  if (c.url) return redact(c.url, c);
  return `${c.driver}://${c.user ? `${c.user}@` : ""}${c.host ?? "127.0.0.1"}${c.port ? `:${c.port}` : ""}/${c.database ?? ""}`;
}
