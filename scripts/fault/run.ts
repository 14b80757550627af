/**
 * `npm run fault -- <scenario|all>`: runs fault scenarios on real components (private Mosquitto,
 * private PostgreSQL, tmpfs, sidecar child processes), prints a table and writes
 * bench/results/fault-<scenario>.json. FAULT_SCALE multiplies the sizes (default 1: each
 * scenario ends within about two minutes on a 2-core machine).
 */
import { odooAvailable } from "../../test/helpers/odoo.js";
import { printTable, scale, writeResult, type FaultResult } from "./report.js";
import { brokerReset, brokerResetDefaults } from "./scenarios/broker-reset.js";
import { brokerRestart, brokerRestartDefaults } from "./scenarios/broker-restart.js";
import { diskFull, diskFullDefaults } from "./scenarios/disk-full.js";
import { duplicateStorm, duplicateStormDefaults } from "./scenarios/duplicate-storm.js";
import { ingestTakeover, ingestTakeoverDefaults } from "./scenarios/ingest-takeover.js";
import { odooLostResponses, odooLostResponsesDefaults } from "./scenarios/odoo-lost-responses.js";
import { odooOutage, odooOutageDefaults } from "./scenarios/odoo-outage.js";
import { pgRestart, pgRestartDefaults } from "./scenarios/pg-restart.js";
import { poisonDefaults, poisonMix } from "./scenarios/poison.js";
import { sidecarKill, sidecarKillDefaults } from "./scenarios/sidecar-kill.js";

const SCENARIOS: Record<string, (scale: number) => Promise<FaultResult>> = {
  "sidecar-kill": (s) => sidecarKill(sidecarKillDefaults(s)),
  "broker-sigterm": (s) => brokerRestart(brokerRestartDefaults("SIGTERM", s)),
  "broker-sigkill": (s) => brokerRestart(brokerRestartDefaults("SIGKILL", s)),
  "broker-reset": (s) => brokerReset(brokerResetDefaults(s)),
  "disk-full": (s) => diskFull(diskFullDefaults(s)),
  "pg-restart": (s) => pgRestart(pgRestartDefaults(s)),
  "ingest-takeover": (s) => ingestTakeover(ingestTakeoverDefaults(s)),
  "duplicate-storm": (s) => duplicateStorm(duplicateStormDefaults(s)),
  poison: (s) => poisonMix(poisonDefaults(s)),
  // these two need a real Odoo 19 (ODOO_SRC)
  "odoo-outage": (s) => odooOutage(odooOutageDefaults(s)),
  "odoo-lost-responses": (s) => odooLostResponses(odooLostResponsesDefaults(s)),
  "ingest-takeover-odoo": (s) => ingestTakeover(ingestTakeoverDefaults(s, true)),
};

const wanted = process.argv.slice(2);
if (wanted.length === 0 || wanted.includes("--help")) {
  console.log(`usage: npm run fault -- <${Object.keys(SCENARIOS).join("|")}|all> [...]`);
  process.exit(wanted.length === 0 ? 1 : 0);
}
const NEED_ODOO = new Set(["odoo-outage", "odoo-lost-responses", "ingest-takeover-odoo"]);
const names = (wanted.includes("all") ? Object.keys(SCENARIOS) : wanted).filter(
  // odooAvailable() prints the SKIPPED line when there is no Odoo
  (n) => !NEED_ODOO.has(n) || odooAvailable(),
);
const unknown = names.filter((n) => !SCENARIOS[n]);
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(", ")}`);
  process.exit(1);
}
const results: FaultResult[] = [];
for (const name of names) {
  console.log(`--- ${name} (FAULT_SCALE=${scale()})`);
  try {
    const r = await SCENARIOS[name]!(scale());
    writeResult(r);
    console.log(JSON.stringify(r.observed));
    results.push(r);
  } catch (err) {
    console.error(`${name} could not run:`, err);
    process.exitCode = 1;
  }
}
printTable(results);
if (results.some((r) => r.failures.length)) process.exitCode = 1;
process.exit();
