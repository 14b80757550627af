import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { projectPath } from "../../sidecar/src/paths.js";
import { freePort } from "../helpers/sidecar-process.js";

const run = promisify(execFile);

/** Holds a port as another program would (an MQTT broker on 1883, another service on 4000). */
async function occupy(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** `plant-bridge start` from the sources, as a first run on a plant engineer's machine. */
async function start(env: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), "pb-port-"));
  return run(
    process.execPath,
    ["--import", "tsx", projectPath("sidecar/src/run.ts"), "start", "--simulate"],
    {
      cwd: projectPath(),
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? "",
        PLANT_BRIDGE_STORE: path.join(dir, "pb.db"),
        PLANT_BRIDGE_LOG_LEVEL: "silent",
        ...env,
      },
    },
  ).then(
    () => ({ code: 0, stderr: "" }),
    (e: { code: number; stderr: string }) => e,
  );
}

describe("a first run where a port is taken", () => {
  it("MQTT: one line naming PLANT_BRIDGE_MQTT_PORT and PLANT_BRIDGE_MQTT_URL, non-zero exit", async () => {
    const taken = await occupy();
    try {
      const r = await start({
        PLANT_BRIDGE_MQTT_PORT: String(taken.port),
        PLANT_BRIDGE_HTTP_PORT: String(await freePort()),
      });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(String(taken.port));
      expect(lines[0]).toMatch(/PLANT_BRIDGE_MQTT_PORT/);
      expect(lines[0]).toContain(`PLANT_BRIDGE_MQTT_URL=mqtt://127.0.0.1:${taken.port}`);
    } finally {
      await taken.close();
    }
  }, 90_000);

  it("HTTP: one line naming PLANT_BRIDGE_HTTP_PORT, non-zero exit", async () => {
    const taken = await occupy();
    try {
      const r = await start({
        PLANT_BRIDGE_MQTT_PORT: "0",
        PLANT_BRIDGE_HTTP_PORT: String(taken.port),
      });
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(String(taken.port));
      expect(lines[0]).toMatch(/PLANT_BRIDGE_HTTP_PORT/);
    } finally {
      await taken.close();
    }
  }, 90_000);
});
