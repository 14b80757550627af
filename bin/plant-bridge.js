#!/usr/bin/env node
// The CLI runs the compiled sidecar (npm ci builds it through the "prepare" script).
import { runCli } from "../dist/sidecar/src/cli.js";

runCli(process.argv).catch((err) => {
  process.stderr.write(
    `plant-bridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
