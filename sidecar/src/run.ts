import { runCli } from "./cli.js";

runCli(process.argv).catch((err: unknown) => {
  process.stderr.write(
    `plant-bridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
