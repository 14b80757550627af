/**
 * A private, real Mosquitto broker for one suite (its own port, persistence folder and limits),
 * so end-to-end suites neither see nor disturb other traffic on the machine's broker.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { freePort } from "./sidecar-process.js";
import { tcpReachable } from "./services.js";

export interface PrivateBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** PEM files for a TLS listener that requires a client certificate signed by `cafile`. */
export interface MosquittoTls {
  cafile: string;
  certfile: string;
  keyfile: string;
}

export async function startMosquitto(options: { tls?: MosquittoTls } = {}): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-mosquitto-"));
  giveToMosquittoUser(dir);
  // Copies in its own folder: it may not traverse the folder the test made them in.
  const tls = options.tls && {
    cafile: copyFor(options.tls.cafile, dir),
    certfile: copyFor(options.tls.certfile, dir),
    keyfile: copyFor(options.tls.keyfile, dir),
  };
  const conf = join(dir, "mosquitto.conf");
  // Sized as the README tells operators: a sidecar outage must not overflow the session queue.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${dir}/`,
      "max_queued_messages 1000000",
      "max_inflight_messages 100",
      `log_dest file ${dir}/mosquitto.log`,
      ...(tls
        ? [
            `cafile ${tls.cafile}`,
            `certfile ${tls.certfile}`,
            `keyfile ${tls.keyfile}`,
            "require_certificate true",
            "tls_version tlsv1.2",
          ]
        : []),
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 100 && !(await tcpReachable("127.0.0.1", port)); i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `${tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function copyFor(file: string, dir: string): string {
  const to = join(dir, basename(file));
  copyFileSync(file, to);
  giveToMosquittoUser(to);
  return to;
}

/**
 * Started as root (as under CI), Mosquitto drops to the `mosquitto` user: in a root-only temp dir
 * it can write neither its log nor its persistence file, and saves nothing on the way out.
 */
function giveToMosquittoUser(path: string): void {
  if (process.getuid?.() !== 0) return;
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "mosquitto"]).toString().trim());
    chownSync(path, id("-u"), id("-g"));
  } catch {
    // no mosquitto user: it keeps running as root and can write here
  }
}
