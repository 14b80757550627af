/**
 * A real Odoo 19 for end-to-end suites, found through ODOO_SRC (default /opt/odoo) and served
 * by scripts/odoo-serve.sh (a database cloned from a template with MRP demo data and
 * plant_bridge installed, a connector user with an API key, and an admin API key for checks).
 * Without Odoo the suites print a loud SKIPPED line and skip (also under CI: Odoo is optional
 * there, every other service is not).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectPath } from "../../sidecar/src/paths.js";
import { freePort } from "./sidecar-process.js";
import { randomName } from "./services.js";

export const ODOO_SRC = process.env.ODOO_SRC ?? "/opt/odoo";

export function odooAvailable(): boolean {
  if (existsSync(join(ODOO_SRC, "odoo-bin"))) return true;
  console.warn(`SKIPPED: no Odoo at ${ODOO_SRC} (set ODOO_SRC to an Odoo 19 source tree)`);
  return false;
}

export interface OdooServer {
  url: string;
  db: string;
  port: number;
  /** API key of the connector service account (what the sidecar uses). */
  apiKey: string;
  /** Calls a model method as the admin user over JSON-2, to check Odoo's records. */
  admin<T = unknown>(model: string, method: string, kwargs?: Record<string, unknown>): Promise<T>;
  /** Runs Python in `odoo-bin shell` on the database (`env` is given); resolves with its stdout. */
  shell(python: string): Promise<string>;
  /** Stops Odoo (the database stays). */
  stop(): Promise<void>;
  /** Starts Odoo again on the same database and port. */
  restart(): Promise<void>;
  /** Stops Odoo and drops its database. */
  destroy(): Promise<void>;
}

function serve(args: string[]): Promise<{ child: ChildProcess; vars: Record<string, string> }> {
  const child = spawn("bash", [projectPath("scripts/odoo-serve.sh"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ODOO_SRC },
    detached: false,
  });
  const vars: Record<string, string> = {};
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`Odoo did not become ready in 10 minutes:\n${out}`));
    }, 600_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split("\n")) {
        const m = /^(PLANT_BRIDGE_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) vars[m[1]!] = m[2]!;
        if (line.startsWith("READY")) {
          clearTimeout(timer);
          resolve({ child, vars });
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`odoo-serve.sh exited with ${code}:\n${out}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Serves a fresh database (cloned from the template) on a free port. */
export async function startOdoo(): Promise<OdooServer> {
  const port = await freePort();
  const db = randomName("pb_e2e");
  const first = await serve(["--port", String(port), "--db", db, "--admin-key"]);
  const vars = first.vars;
  let child = first.child;
  const url = vars.PLANT_BRIDGE_ODOO_URL!;
  const adminKey = vars.PLANT_BRIDGE_TEST_ADMIN_API_KEY!;
  const server: OdooServer = {
    url,
    db,
    port,
    apiKey: vars.PLANT_BRIDGE_ODOO_API_KEY!,
    async admin<T>(model: string, method: string, kwargs: Record<string, unknown> = {}) {
      const res = await fetch(`${url}/json/2/${model}/${method}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `bearer ${adminKey}`,
          "x-odoo-database": db,
        },
        body: JSON.stringify(kwargs),
      });
      const text = await res.text();
      if (res.status !== 200)
        throw new Error(`${model}.${method}: HTTP ${res.status} ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
    async shell(python: string) {
      const file = join(mkdtempSync(join(tmpdir(), "pb-odoo-shell-")), "script.py");
      writeFileSync(file, python);
      const { stdout } = await promisify(execFile)(
        "bash",
        ["-c", 'source scripts/odoo-common.sh && pb_odoo_shell "$0" "$1"', db, file],
        { cwd: projectPath(), env: { ...process.env, ODOO_SRC }, maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout;
    },
    stop: () => stopChild(child),
    async restart() {
      await stopChild(child);
      ({ child } = await serve(["--port", String(port), "--db", db, "--reuse"]));
    },
    async destroy() {
      await stopChild(child);
      await new Promise<void>((resolve) => {
        const p = spawn(
          "dropdb",
          ["-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db],
          { stdio: "ignore" },
        );
        p.once("exit", () => resolve());
      });
    },
  };
  return server;
}
