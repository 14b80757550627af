/**
 * A real Odoo 19 for the GraphQL end-to-end suite: scripts/odoo-serve.sh on a free port (demo
 * data + plant_bridge, a connector API key), plus, through `odoo-bin shell`, an API key of the
 * admin user (to compare with what Odoo itself says) and Plant Bridge API tokens.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectPath } from "../../sidecar/src/paths.js";
import { randomName } from "../helpers/services.js";
import { freePort } from "../helpers/sidecar-process.js";

export const ODOO_SRC = process.env.ODOO_SRC ?? "/opt/odoo";
const run = promisify(execFile);

export function odooPresent(): boolean {
  if (existsSync(join(ODOO_SRC, "odoo-bin"))) return true;
  console.warn(`SKIPPED: no Odoo at ${ODOO_SRC} (set ODOO_SRC to an Odoo 19 source tree)`);
  return false;
}

export interface GraphqlOdoo {
  url: string;
  db: string;
  connectorKey: string;
  /** JSON-2 as the admin user. */
  admin<T>(model: string, method: string, body?: Record<string, unknown>): Promise<T>;
  /** Runs Python in `odoo-bin shell` on the database; resolves with its stdout. */
  shell(python: string): Promise<string>;
  destroy(): Promise<void>;
}

export async function serveOdoo(): Promise<GraphqlOdoo> {
  const port = await freePort();
  const db = randomName("pb_gql");
  const child: ChildProcess = spawn(
    "bash",
    [projectPath("scripts/odoo-serve.sh"), "--port", String(port), "--db", db],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ODOO_SRC } },
  );
  const vars: Record<string, string> = {};
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split("\n")) {
        const m = /^(PLANT_BRIDGE_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) vars[m[1]!] = m[2]!;
        if (line.startsWith("READY")) resolve();
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`odoo-serve.sh exited with ${code}:\n${out}`)));
  });
  const url = vars.PLANT_BRIDGE_ODOO_URL!;
  const dir = mkdtempSync(join(tmpdir(), "pb-gql-odoo-"));
  let n = 0;
  async function shell(python: string): Promise<string> {
    const file = join(dir, `script-${n++}.py`);
    writeFileSync(file, python);
    const { stdout } = await run(
      "bash",
      ["-c", 'source scripts/odoo-common.sh && pb_odoo_shell "$0" "$1"', db, file],
      { cwd: projectPath(), env: { ...process.env, ODOO_SRC }, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  }
  const adminKey = /ADMIN_KEY=(\S+)/.exec(
    await shell(`
from datetime import timedelta
from odoo import fields
admin = env.ref('base.user_admin')
key = env['res.users.apikeys'].with_user(admin).sudo()._generate(None, 'graphql e2e', fields.Datetime.now() + timedelta(days=1))
env.cr.commit()
print(f'ADMIN_KEY={key}')
`),
  )![1]!;
  return {
    url,
    db,
    connectorKey: vars.PLANT_BRIDGE_ODOO_API_KEY!,
    async admin<T>(model: string, method: string, body: Record<string, unknown> = {}) {
      const res = await fetch(`${url}/json/2/${model}/${method}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `bearer ${adminKey}`,
          "x-odoo-database": db,
        },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 200)
        throw new Error(`${model}.${method}: ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    },
    shell,
    async destroy() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await run("dropdb", [
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "--if-exists",
        "--force",
        db,
      ]).catch(() => undefined);
    },
  };
}
