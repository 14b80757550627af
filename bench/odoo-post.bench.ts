/**
 * One JSON-2 call by the connector user posting 1,000 downtime events, side by side with the same
 * rows created in-process by the ORM (Odoo's own ceiling): scripts/odoo-bench-post.sh, which
 * writes bench/results/odoo-post-downtime.json. Needs a real Odoo 19 (ODOO_SRC); without one it
 * prints SKIPPED.
 */
import { spawn } from "node:child_process";
import { projectPath } from "../sidecar/src/paths.js";
import { odooAvailable } from "../test/helpers/odoo.js";

export async function run(): Promise<void> {
  if (!odooAvailable()) return;
  const events = process.env.BENCH_ODOO_POST_EVENTS ?? "1000";
  const rounds = process.env.BENCH_ROUNDS ?? "3";
  await new Promise<void>((resolve, reject) => {
    const p = spawn("bash", [projectPath("scripts/odoo-bench-post.sh"), events, rounds], {
      stdio: "inherit",
    });
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/odoo-bench-post.sh exited ${code}`)),
    );
  });
}
