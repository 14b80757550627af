/**
 * For the UI end-to-end test: a real Odoo 19 served by scripts/odoo-serve.sh (demo data +
 * plant_bridge) on a free port in 19000-19999, Odoo's external JSON-RPC as the admin user to
 * set up and check records, and a headless Debian Chromium driven by playwright-core.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { projectPath } from "../../sidecar/src/paths.js";

export const ODOO_SRC = process.env.ODOO_SRC ?? "/opt/odoo";
export const CHROMIUM = process.env.PLANT_BRIDGE_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Where a UI suite's screenshots go: `PLANT_BRIDGE_SCREENSHOTS` (e.g. `docs/screenshots`, to
 * refresh the README's pictures), else a temporary folder, so a test run never dirties the
 * checkout. `shot(page, name)` lets charts and fonts settle, then takes one.
 */
export function screenshots(): { dir: string; shot(page: Page, name: string): Promise<void> } {
  const dir = process.env.PLANT_BRIDGE_SCREENSHOTS
    ? projectPath(process.env.PLANT_BRIDGE_SCREENSHOTS)
    : mkdtempSync(join(tmpdir(), "pb-ui-shots-"));
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    async shot(page, name) {
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(dir, `${name}.png`) });
    },
  };
}

/**
 * Whether the suite can run; says so loudly when not. Odoo is optional everywhere (the Odoo
 * suites skip without it, under CI too); with an Odoo, a missing Chromium fails under CI.
 */
export function uiEnvironment(): boolean {
  if (!existsSync(join(ODOO_SRC, "odoo-bin"))) {
    console.warn(`SKIPPED: UI end-to-end test: no Odoo at ${ODOO_SRC} (set ODOO_SRC)`);
    return false;
  }
  if (existsSync(CHROMIUM)) return true;
  const line = `UI end-to-end test: no Chromium at ${CHROMIUM} (set PLANT_BRIDGE_CHROMIUM)`;
  if (process.env.PLANT_BRIDGE_REQUIRE_SERVICES === "1")
    throw new Error(`${line}; PLANT_BRIDGE_REQUIRE_SERVICES=1`);
  console.warn(`SKIPPED: ${line}`);
  return false;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

export async function freePortInRange(from = 19000, to = 19999): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

export interface ServedOdoo {
  url: string;
  db: string;
  apiKey: string;
  /** Admin user's JSON-RPC (demo password "admin"). */
  rpc<T = unknown>(
    model: string,
    method: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
  ): Promise<T>;
  stop(): Promise<void>;
}

/** scripts/odoo-serve.sh on a free port; resolves once it printed READY. */
export async function serveOdoo(timeoutMs = 15 * 60_000): Promise<ServedOdoo> {
  const port = await freePortInRange();
  const child: ChildProcess = spawn(
    "bash",
    [projectPath("scripts/odoo-serve.sh"), "--port", String(port)],
    {
      cwd: projectPath(),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const vars: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`odoo-serve not READY after ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/^(PLANT_BRIDGE_ODOO_[A-Z_]+)=(.*)$/gm)) vars[m[1]!] = m[2]!;
      if (/^READY/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`odoo-serve exited with ${code}:\n${out}`));
    });
  });
  const url = vars.PLANT_BRIDGE_ODOO_URL!;
  const db = vars.PLANT_BRIDGE_ODOO_DB!;
  let uid = 0;
  async function jsonrpc<T>(service: string, method: string, args: unknown[]): Promise<T> {
    const response = await fetch(`${url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: { service, method, args } }),
    });
    const body = (await response.json()) as { result?: T; error?: { data?: { message?: string } } };
    if (body.error)
      throw new Error(`${method}: ${body.error.data?.message ?? JSON.stringify(body.error)}`);
    return body.result as T;
  }
  return {
    url,
    db,
    apiKey: vars.PLANT_BRIDGE_ODOO_API_KEY!,
    async rpc(model, method, args = [], kwargs = {}) {
      uid ||= await jsonrpc<number>("common", "login", [db, "admin", "admin"]);
      return jsonrpc("object", "execute_kw", [db, uid, "admin", model, method, args, kwargs]);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      spawnSync("bash", ["-c", `source scripts/odoo-common.sh && pb_dropdb "$1"`, "drop", db], {
        cwd: projectPath(),
        stdio: "ignore",
      });
    },
  };
}

/** The database id of the record an XML id names (`module.name`), e.g. demo data. */
export async function xmlid(odoo: ServedOdoo, module: string, name: string): Promise<number> {
  const [row] = await odoo.rpc<{ res_id: number }[]>(
    "ir.model.data",
    "search_read",
    [
      [
        ["module", "=", module],
        ["name", "=", name],
      ],
    ],
    { fields: ["res_id"] },
  );
  if (!row) throw new Error(`no record ${module}.${name} in the test database`);
  return row.res_id;
}

export interface UiBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far (the test fails on any). */
  errors: string[];
  close(): Promise<void>;
}

/** Headless Debian Chromium, logged in to Odoo (as admin unless told otherwise). */
export async function openBrowser(
  url: string,
  login = { login: "admin", password: "admin" },
): Promise<UiBrowser> {
  const context = await chromium.launchPersistentContext(
    mkdtempSync(join(tmpdir(), "pb-ui-chrome-")),
    {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
      viewport: { width: 1440, height: 900 },
    },
  );
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${url}/web/login`);
  await page.fill("input[name=login]", login.login);
  await page.fill("input[name=password]", login.password);
  // a fresh database builds its asset bundles on this first load: slow on a busy machine
  await Promise.all([
    page.waitForURL(/\/odoo/, { waitUntil: "domcontentloaded", timeout: 120_000 }),
    page.click("button[type=submit]"),
  ]);
  return { context, page, errors, close: () => context.close() };
}

/** Polls `probe` until it returns something truthy. */
export async function eventually<T>(
  probe: () => Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
