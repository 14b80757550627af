/**
 * The heavy operations - production with serials and with lots (including the finish),
 * consumption of lot-tracked components, scrap, work order start/finish - and a mixed stream
 * (per minute: 20 machines' states and counters, 200 production/consumption reports, 10 scraps,
 * 5 downtime intervals), each posted over JSON-2 by the connector user, side by side in one run
 * with Odoo's own in-process loop of the same operations on the same database (the ceiling) and
 * a naive per-event JSON-2 connector: scripts/odoo-bench-heavy.sh, which writes
 * bench/results/odoo-heavy-<op>.json. Needs a real Odoo 19 (ODOO_SRC); without one it prints
 * SKIPPED.
 *
 * BENCH_HEAVY_SCALE (default 1) multiplies the orders per operation, BENCH_ROUNDS (default 2) the
 * rounds (and the minutes of mixed traffic), BENCH_HEAVY_OPS restricts the operations
 * (comma-separated: production-serial, production-lot, consumption-lot, scrap, workorder, mixed).
 */
import { spawn } from "node:child_process";
import { projectPath } from "../sidecar/src/paths.js";
import { odooAvailable } from "../test/helpers/odoo.js";

export async function run(): Promise<void> {
  if (!odooAvailable()) return;
  const scale = process.env.BENCH_HEAVY_SCALE ?? "1";
  const rounds = process.env.BENCH_ROUNDS ?? "2";
  const ops = process.env.BENCH_HEAVY_OPS ?? "";
  await new Promise<void>((resolve, reject) => {
    const p = spawn("bash", [projectPath("scripts/odoo-bench-heavy.sh"), scale, rounds, ops], {
      stdio: "inherit",
    });
    p.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/odoo-bench-heavy.sh exited ${code}`)),
    );
  });
}
