/**
 * Crash safety of scheduled pulls in a real sidecar process: a legacy table on PostgreSQL and on
 * MariaDB is written while the sidecar pulls it every second; the process is SIGKILLed while it
 * holds rows it has read and not committed (the PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS hook);
 * restarted, it stores every row exactly once — the watermark neither lost rows nor lagged behind
 * the committed ones (no row is even read twice as a duplicate). The same for a dropped file: it
 * resumes after its last committed chunk and is archived once.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { openStore } from "../../sidecar/src/store/index.js";
import {
  createTestDatabase,
  MARIADB_TEST_URL,
  randomName,
  serviceAvailable,
} from "../helpers/services.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";
import { tempDir } from "../helpers/legacy-harness.js";
import { waitFor } from "../helpers/wait.js";

const pgUp = await serviceAvailable("PostgreSQL", "127.0.0.1", 5432);
const myUp = await serviceAvailable("MariaDB", "127.0.0.1", 3306);
const TOKEN = "legacy-crash-admin-token-0123456789";
const PAUSE = "legacy test hook: rows read, pausing before the commit";

async function pending(proc: SidecarProcess, site: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${proc.httpPort}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: "{ sidecar { sites { site pending } } }" }),
  });
  const body = (await r.json()) as {
    data: { sidecar: { sites: Array<{ site: string; pending: number }> } };
  };
  return body.data.sidecar.sites.find((s) => s.site === site)?.pending ?? 0;
}

const pauses = (proc: SidecarProcess) => proc.output().split(PAUSE).length - 1;

function env(dir: string, site: string, legacy: object, extra: Record<string, string> = {}) {
  const file = join(dir, "legacy.json");
  writeFileSync(file, JSON.stringify(legacy));
  return {
    PLANT_BRIDGE_MQTT_PORT: "0",
    PLANT_BRIDGE_SITE: site,
    PLANT_BRIDGE_NAME: randomName("legacy-crash"),
    PLANT_BRIDGE_STORE: join(dir, "store.db"),
    PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
    PLANT_BRIDGE_LEGACY: file,
    PLANT_BRIDGE_SPARKPLUG_GROUPS: "none",
    ...extra,
  };
}

/** Kills the sidecar during its third pause (two chunks committed, the third read, not committed). */
async function killDuringThirdPause(proc: SidecarProcess): Promise<void> {
  await waitFor("the third read", async () => (pauses(proc) >= 3 ? true : undefined), 90_000);
  expect(await proc.kill("SIGKILL")).toBeNull();
}

async function storedIds(
  dir: string,
  site: string,
): Promise<{ ids: string[]; duplicates: number }> {
  const store = await openStore(join(dir, "store.db"));
  try {
    const rows = await store.listMessages({ site, limit: 1_000_000 });
    return {
      ids: rows.map((r) => r.eventId),
      duplicates: rows.reduce((n, r) => n + r.duplicates, 0),
    };
  } finally {
    await store.close();
  }
}

interface Legacy {
  driver: "postgres" | "mysql";
  url: string;
  exec(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

const databases: Array<[string, boolean, () => Promise<Legacy>]> = [
  [
    "PostgreSQL",
    pgUp,
    async () => {
      const db = await createTestDatabase("pb_legacy_crash");
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return {
        driver: "postgres",
        url: db.url,
        exec: async (sql, params) => {
          let i = 0;
          await c.query(
            sql.replace(/\?/g, () => `$${++i}`),
            params,
          );
        },
        close: async () => {
          await c.end();
          await db.drop();
        },
      };
    },
  ],
  [
    "MariaDB",
    myUp,
    async () => {
      const c = await mysql.createConnection({ uri: MARIADB_TEST_URL, charset: "utf8mb4" });
      return {
        driver: "mysql",
        url: MARIADB_TEST_URL,
        exec: async (sql, params) => void (await c.query(sql, params)),
        close: () => c.end(),
      };
    },
  ],
];

for (const [name, up, open] of databases) {
  (up ? describe : describe.skip)(`SQL pull killed between read and commit (${name})`, () => {
    it("loses no row and stores none twice once restarted", async () => {
      const db = await open();
      const table = randomName("counts");
      const site = randomName("lc").replace(/_/g, "-");
      const dir = tempDir("pb-legacy-crash-");
      const serial =
        name === "PostgreSQL" ? "BIGSERIAL PRIMARY KEY" : "BIGINT AUTO_INCREMENT PRIMARY KEY";
      await db.exec(
        `CREATE TABLE ${table} (id ${serial}, mo VARCHAR(64), qty INT, at VARCHAR(32))`,
      );
      const insert = (n: number) =>
        db.exec(`INSERT INTO ${table} (mo, qty, at) VALUES (?, ?, ?)`, [
          `WH/MO/${String(n % 9).padStart(5, "0")}`,
          1 + (n % 5),
          "2026-11-26 08:00:00",
        ]);
      let written = 0;
      for (; written < 150; written++) await insert(written);
      const q = name === "PostgreSQL" ? '"' : "`";
      const legacy = {
        timezone: "Europe/Berlin",
        connectors: [
          {
            id: 1,
            name: "line counts",
            site,
            kind: "sql_source",
            params: {
              driver: db.driver,
              query: `SELECT id, 'production' AS type, mo AS ${q}order${q}, qty AS quantity, at AS ${q}occurredAt${q} FROM ${table}`,
              watermarkColumn: "id",
              keyColumn: "id",
              table,
              batchSize: 50,
            },
            secrets: { url: db.url },
          },
        ],
        schedules: [{ id: 1, name: "every second", site, connector: 1, cron: "* * * * * *" }],
      };
      // The writer keeps the table growing while the sidecar pulls, is killed and comes back.
      let writing = true;
      const writer = (async () => {
        while (writing) {
          await insert(written++);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        const first = await startSidecarProcess(
          env(dir, site, legacy, { PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS: "4000" }),
        );
        await killDuringThirdPause(first);
        const committedBeforeCrash = await storedIds(dir, site);
        expect(committedBeforeCrash.ids).toHaveLength(100); // two batches of 50

        const second = await startSidecarProcess(env(dir, site, legacy));
        await new Promise((r) => setTimeout(r, 1500));
        writing = false;
        await writer;
        await waitFor(`${written} rows stored`, async () =>
          (await pending(second, site)) === written ? true : undefined,
        );
        await second.kill("SIGTERM");
        const { ids, duplicates } = await storedIds(dir, site);
        expect(ids).toHaveLength(written);
        expect(new Set(ids)).toEqual(
          new Set(Array.from({ length: written }, (_, i) => `${table}:${i + 1}`)),
        );
        expect(duplicates).toBe(0);
      } finally {
        writing = false;
        await writer;
        await db.exec(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
        await db.close();
      }
    }, 180_000);
  });
}

describe("file drop killed between read and commit", () => {
  it("resumes after the last committed chunk and archives the file once", async () => {
    const dir = tempDir("pb-legacy-crash-");
    const drop = join(dir, "drop");
    mkdirSync(drop);
    const site = randomName("lf").replace(/_/g, "-");
    const lines = Array.from(
      { length: 1000 },
      (_, i) =>
        `production;WH/MO/${String(i % 9).padStart(5, "0")};${1 + (i % 3)};2026-11-26 08:00:00`,
    );
    writeFileSync(
      join(drop, "counts.csv"),
      ["type;order;quantity;occurredAt", ...lines].join("\n"),
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(drop, "counts.csv"), old, old);
    const legacy = {
      connectors: [
        {
          id: 1,
          name: "counts",
          site,
          kind: "file_drop",
          params: {
            path: drop,
            pattern: "*.csv",
            delimiter: ";",
            chunkRows: 100,
            stableSeconds: 1,
          },
        },
      ],
      schedules: [{ id: 1, name: "every second", site, connector: 1, cron: "* * * * * *" }],
    };
    const first = await startSidecarProcess(
      env(dir, site, legacy, { PLANT_BRIDGE_LEGACY_PAUSE_AFTER_READ_MS: "4000" }),
    );
    await killDuringThirdPause(first);
    expect((await storedIds(dir, site)).ids).toHaveLength(200);
    expect(existsSync(join(drop, "counts.csv"))).toBe(true);

    const second = await startSidecarProcess(env(dir, site, legacy));
    await waitFor("the file archived", async () =>
      existsSync(join(drop, "archive", "counts.csv")) ? true : undefined,
    );
    await second.kill("SIGTERM");
    const { ids, duplicates } = await storedIds(dir, site);
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
    expect(duplicates).toBe(0);
    expect(readdirSync(drop).filter((n) => n.endsWith(".csv"))).toEqual([]);
  }, 180_000);
});
