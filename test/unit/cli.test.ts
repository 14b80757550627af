import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { projectPath } from "../../sidecar/src/paths.js";

const run = promisify(execFile);

/** The CLI as users run it: `npx plant-bridge` is bin/plant-bridge.js on the compiled sidecar. */
describe("npx plant-bridge", () => {
  const bin = projectPath("bin/plant-bridge.js");

  beforeAll(() => {
    // `npm ci` builds dist/ through the "prepare" script; a missing build is a failure, not a skip.
    expect(existsSync(projectPath("dist/sidecar/src/run.js"))).toBe(true);
  });

  it("--help lists start and start --simulate", async () => {
    const { stdout } = await run(process.execPath, [bin, "--help"]);
    expect(stdout).toMatch(/Usage: plant-bridge/);
    expect(stdout).toMatch(/^\s+start\b/m);
    expect(stdout).toMatch(/plant-bridge start --simulate/);
  });

  it("start --help documents --simulate and --config", async () => {
    const { stdout } = await run(process.execPath, [bin, "start", "--help"]);
    expect(stdout).toMatch(/--simulate/);
    expect(stdout).toMatch(/--config <file>/);
  });

  it("refuses a bad setting with exit code 2, naming the variable and not echoing secrets", async () => {
    const err = await run(process.execPath, [bin, "start"], {
      env: {
        ...process.env,
        PLANT_BRIDGE_HTTP_PORT: "not-a-port",
        PLANT_BRIDGE_ODOO_API_KEY: "s3cret-key-never-printed",
      },
    }).then(
      () => null,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe(2);
    expect(err!.stderr).toMatch(/PLANT_BRIDGE_HTTP_PORT/);
    expect(err!.stderr + err!.stdout).not.toMatch(/s3cret-key-never-printed/);
  });
});
