import { Command } from "commander";
import { ConfigValidationError, loadConfig } from "./config.js";
import { PortUnavailableError } from "./listen.js";
import { createLogger } from "./logger.js";
import { startSidecar, VERSION } from "./main.js";

/** `plant-bridge start [--simulate]`: runs the sidecar until SIGINT / SIGTERM. */
export async function runCli(argv: string[]): Promise<void> {
  const program = new Command()
    .name("plant-bridge")
    .description(
      "Plant Bridge sidecar: shop floor (MQTT, legacy files and tables) <-> Odoo manufacturing",
    )
    .version(VERSION)
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  plant-bridge start               the sidecar (embedded broker and SQLite store unless configured)",
        "  plant-bridge start --simulate    the same, with simulated machines publishing canonical events",
        "  plant-bridge start --config <f>  settings from a JSON file (the environment wins)",
        "",
        "Configuration: PLANT_BRIDGE_* environment variables (see README).",
      ].join("\n"),
    );

  program
    .command("start")
    .description(
      "run the sidecar from the environment (PLANT_BRIDGE_*) and the optional config file",
    )
    .option("--simulate", "also run the plant simulator (machines publishing canonical events)")
    .option("-c, --config <file>", "JSON file of PLANT_BRIDGE_* settings (the environment wins)")
    .action(async (opts: { simulate?: boolean; config?: string }) => {
      if (opts.config) process.env.PLANT_BRIDGE_CONFIG = opts.config;
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        if (err instanceof ConfigValidationError) {
          process.stderr.write(`plant-bridge: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const logger = createLogger({ level: config.logLevel });
      // Signals are handled from the start: /readyz may answer before startSidecar resolves, and a
      // SIGTERM in between must still shut down gracefully (after the start has finished).
      const starting = startSidecar({
        config,
        logger,
        simulate: opts.simulate ?? false,
        // key rotation without restart: the configuration file is read again for a new key
        readApiKey: () => loadConfig().odoo?.apiKey,
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "shutdown requested");
        const force = setTimeout(() => {
          logger.error("shutdown took longer than 20 s; exiting");
          process.exit(1);
        }, 20_000);
        force.unref();
        starting
          .then((sidecar) => sidecar.stop())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              logger.error({ err }, "shutdown failed");
              process.exit(1);
            },
          );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGHUP", () => {
        if (stopping) return;
        if (process.env.PLANT_BRIDGE_ODOO_API_KEY && process.env.PLANT_BRIDGE_CONFIG)
          logger.warn(
            "PLANT_BRIDGE_ODOO_API_KEY is set in the environment, which wins over the configuration file: " +
              "put the key in the file only to rotate it without a restart",
          );
        void starting
          .then((sidecar) => sidecar.odoo?.reloadApiKey("SIGHUP"))
          .catch(() => undefined);
      });
      try {
        await starting;
      } catch (err) {
        // A setting to change (a taken port, ...): its message is the answer, not a stack trace.
        if (err instanceof PortUnavailableError) {
          process.stderr.write(`plant-bridge: ${err.message}\n`);
          process.exit(3);
        }
        throw err;
      }
    });

  await program.parseAsync(argv);
}
