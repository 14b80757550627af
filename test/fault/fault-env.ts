/**
 * What the short fault suites need: the `mosquitto` binary (a private broker per suite) and, for
 * the full disk, root to mount a tmpfs. Missing under CI (`PLANT_BRIDGE_REQUIRE_SERVICES=1`):
 * the suite fails; elsewhere it prints a loud SKIPPED line.
 */
import { spawnSync } from "node:child_process";
import { REQUIRE_SERVICES } from "../helpers/services.js";

export function need(what: string, ok: boolean): boolean {
  if (ok) return true;
  if (REQUIRE_SERVICES) throw new Error(`${what} and PLANT_BRIDGE_REQUIRE_SERVICES=1: failing`);
  console.warn(`SKIPPED: ${what} (set PLANT_BRIDGE_REQUIRE_SERVICES=1 to fail instead)`);
  return false;
}

export function mosquittoInstalled(): boolean {
  return spawnSync("mosquitto", ["-h"], { stdio: "ignore" }).error === undefined;
}
