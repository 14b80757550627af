/**
 * Runs a real sidecar as a child process (`tsx sidecar/src/run.ts start`), so tests can kill it
 * with SIGKILL and start it again on the same store.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { projectPath } from "../../sidecar/src/paths.js";

export interface SidecarProcess {
  child: ChildProcess;
  httpPort: number;
  /** Everything the process wrote (JSON log lines). */
  output(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export async function startSidecarProcess(
  env: Record<string, string>,
  args: string[] = ["start"],
  /** "ready": /readyz answers 200; "listening": the HTTP API answers /healthz (not ready yet). */
  until: "ready" | "listening" = "ready",
): Promise<SidecarProcess> {
  const httpPort = Number(env.PLANT_BRIDGE_HTTP_PORT ?? (await freePort()));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", projectPath("sidecar/src/run.ts"), ...args],
    {
      cwd: projectPath(),
      env: {
        PATH: process.env.PATH ?? "",
        PLANT_BRIDGE_LOG_LEVEL: "info",
        ...env,
        PLANT_BRIDGE_HTTP_PORT: String(httpPort),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const proc: SidecarProcess = {
    child,
    httpPort,
    output: () => out,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  // generous: on a loaded 2-core CI machine a cold tsx start plus Odoo config can take a while
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sidecar exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(
        `http://127.0.0.1:${httpPort}/${until === "ready" ? "readyz" : "healthz"}`,
      );
      if (r.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill("SIGKILL");
      throw new Error(`sidecar not ready after 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
